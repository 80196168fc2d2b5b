package dev.strata.jobs.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.EventLog;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.testing.TestChain;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Ranges the source reads as zeros: skipped on a fresh target, written as zeros where the target may hold data. */
@Timeout(120)
class MirrorZeroRangesTest {

    private static final long SIZE = 16L << 20;
    private static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private final EventLog log = new EventLog();
    private TestChain chain;

    @BeforeEach
    void setUp() {
        jobs.addListener(log);
        // every cluster of the base holds data, so a zero range in the top hides something
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 1.0, 23);
        zero(2L << 20, 1 << 20);
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        chain.close();
    }

    private void zero(long offset, int len) {
        chain.backend.writeZeroes(offset, len, false);
        Arrays.fill(chain.model, (int) offset, (int) offset + len, (byte) 0);
    }

    private void write(long offset, int len, int seed) {
        byte[] d = TestChain.stamp(0x5a000000, seed, len);
        chain.backend.write(offset, ByteBuffer.wrap(d));
        System.arraycopy(d, 0, chain.model, (int) offset, len);
    }

    private void awaitCopied(MirrorJob job) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (job.len() != job.offset()) {
            assertTrue(System.nanoTime() < deadline, "nothing left to copy");
            Thread.sleep(5);
        }
        Thread.sleep(50);   // the job notices new dirt within 20 ms
        while (job.len() != job.offset()) {
            assertTrue(System.nanoTime() < deadline, "nothing left to copy");
            Thread.sleep(5);
        }
    }

    @Test
    void syncFullOntoAFreshTargetSkipsZerosUntilTheJobHasWrittenThere() throws Exception {
        BlockNode target = JobTargets.createAndOpen(chain.graph, dir.resolve("M.qcow2").toString(), "qcow2", SIZE, null, false);
        MirrorJob job = Mirror.start(jobs, chain.graph, new MirrorRequest(null, "virtio0", target.nodeName(), "full", 0, 0,
                OnError.REPORT, OnError.REPORT, true, true));
        assertTrue(log.await("READY", T), log.events().toString());
        assertNotEquals(BlockStatus.State.DATA, target.blockStatus(2L << 20, 1 << 20).state(), "zeros were not copied as data");
        // data, copied, then zeros over it: now the target must be sent zeros
        write(6L << 20, 128 << 10, 1);
        awaitCopied(job);
        zero(6L << 20, 128 << 10);
        jobs.complete(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertSame(target, chain.backend.root());
        assertEquals(-1, chain.firstMismatch());
    }

    @Test
    void syncTopWritesZerosThatHideTheBackingFile() throws Exception {
        BlockNode top = chain.backend.root();
        BlockNode target = JobTargets.createAndOpen(chain.graph, dir.resolve("M.qcow2").toString(), "qcow2", SIZE, top.backing(), false);
        MirrorJob job = Mirror.start(jobs, chain.graph, new MirrorRequest(null, "virtio0", target.nodeName(), "top", 0, 0,
                OnError.REPORT, OnError.REPORT, true, true));
        assertTrue(log.await("READY", T), log.events().toString());
        jobs.complete(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertSame(target, chain.backend.root());
        assertEquals(-1, chain.firstMismatch(), "the base's data shows through where the top said zeros");
    }
}
