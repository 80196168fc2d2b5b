package dev.strata.jobs.copyjobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;
import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import dev.strata.jobs.EventLog;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.backup.Backup;
import dev.strata.jobs.mirror.Mirror;
import dev.strata.jobs.mirror.MirrorRequest;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.QemuImg;
import dev.strata.jobs.testing.TestChain;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** ENOSPC on a job's target (fault-injection under the target's qcow2): the policy decides, the source loses nothing. */
@Timeout(120)
class TargetErrorTest {

    private static final long SIZE = 16L << 20;
    private static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private final EventLog log = new EventLog();
    private TestChain chain;

    @BeforeEach
    void setUp() {
        assumeTrue(QemuImg.available(), "qemu-img missing");
        jobs.addListener(log);
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        if (chain != null) {
            chain.close();
        }
    }

    private BlockNode faultyTarget(String name) {
        Path p = dir.resolve(name);
        DriverRegistry.standard().require("qcow2").create(p, SIZE, BlockOptions.empty());
        // the fault filter cannot resize, so give qcow2 room to allocate inside the file
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(4 * SIZE);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return chain.graph.open(BlockOptions.empty().with("driver", "qcow2").with("backing", "")
                .with("file.driver", "fault-injection").with("file.file.filename", p.toString()));
    }

    @Test
    void mirrorStopsOnEnospcAndFinishesAfterResume() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.5, 31);
        BlockNode target = faultyTarget("M.qcow2");
        FaultInjectionDriver fault = (FaultInjectionDriver) target.file().driver();
        fault.inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.NO_SPACE, -1));
        GuestWriters w = new GuestWriters(chain, 4, 0, SIZE, 31).think(500_000).start();
        Job job = Mirror.start(jobs, chain.graph, new MirrorRequest("m", "virtio0", target.nodeName(), "full", 0, 0,
                OnError.REPORT, OnError.ENOSPC, true, true));
        assertTrue(log.await("paused", T), log.events().toString());
        assertTrue(log.events().contains("ERROR write stop"), log.events().toString());
        assertEquals(IoStatus.NOSPACE, job.blockJobInfo().ioStatus());
        fault.clear();
        jobs.resume(job);
        assertTrue(log.await("READY", T), log.events().toString());
        jobs.complete(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertSame(target, chain.backend.root());
        w.stop();
        assertTrue(w.errors.isEmpty(), w.errors.toString());
        assertEquals(0, w.mismatches.get());
        assertEquals(-1, chain.firstMismatch());
    }

    @Test
    void backupReportsEnospcAndTheSourceIsUntouched() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.5, 37);
        BlockNode target = faultyTarget("BK.qcow2");
        ((FaultInjectionDriver) target.file().driver())
                .inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.NO_SPACE, -1));
        GuestWriters w = new GuestWriters(chain, 4, 0, SIZE, 37).think(500_000).start();
        Job job = Backup.start(jobs, chain.graph, "b", "virtio0", target, "full", 0, OnError.REPORT, OnError.REPORT,
                true, true, () -> { });
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertTrue(log.events().contains("ERROR write report"), log.events().toString());
        assertTrue(log.events().contains("COMPLETED No space left on device"), log.events().toString());
        w.stop();
        assertTrue(w.errors.isEmpty(), w.errors.toString());
        assertEquals(0, w.mismatches.get());
        assertEquals(-1, chain.firstMismatch());
    }
}
