package dev.strata.jobs.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.jobs.EventLog;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.QemuImg;
import dev.strata.jobs.testing.TestChain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Streams real qcow2 chains (depth 2-5) while guest writers run, with and without a speed limit
 * and a pause, then asks qemu-img: the top must be {@code check}-clean and {@code compare}-equal
 * to the model of what the guest wrote.
 */
@Timeout(180)
class StreamQcow2InteropTest {

    private static final long SIZE = 32L << 20;
    private static final Duration T = Duration.ofSeconds(90);

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private final EventLog log = new EventLog();
    private TestChain chain;

    @BeforeEach
    void needQemuImg() {
        assumeTrue(QemuImg.available(), "qemu-img (Debian package qemu-utils) is not installed: qcow2 interop NOT tested");
        jobs.addListener(log);
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        if (chain != null) {
            chain.close();
        }
    }

    @ParameterizedTest(name = "depth {0}, speed {1}, base layer {2}, pause {3}, seed {4}")
    @CsvSource({
        "2, 0, -1, false, 1",
        "3, 0, -1, false, 2",
        "4, 0, 1, false, 3",
        "5, 0, -1, false, 4",
        "5, 0, 2, true, 5",
        "3, 8388608, -1, true, 6",
        "4, 4194304, 0, false, 7",
    })
    void streamWhileWritingThenQemuImgAgrees(int depth, long speed, int baseLayer, boolean pause, long seed) throws Exception {
        chain = TestChain.build(dir, "qcow2", depth, SIZE, 0.35, seed);
        GuestWriters w = new GuestWriters(chain, 8, 0, SIZE, seed).think(500_000).start();
        String base = baseLayer < 0 ? null : chain.files.get(baseLayer).toString();
        StreamJob job = Stream.start(jobs, chain.graph, StreamRequest.of("s" + seed, "virtio0", base, speed));
        if (pause) {
            jobs.pause(job);
            assertTrue(log.await("paused", T) || job.status() == JobStatus.NULL);
            if (job.status() != JobStatus.NULL) {
                Thread.sleep(100);
                jobs.resume(job);
            }
        }
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        w.stop();
        assertTrue(w.errors.isEmpty(), "guest I/O failed: " + w.errors);
        assertEquals(0, w.mismatches.get(), "guest reads saw wrong data during the stream");
        assertTrue(log.events().contains("COMPLETED"), log.events().toString());
        assertEquals(-1, chain.firstMismatch());
        if (baseLayer < 0) {
            assertNull(chain.backend.root().backing());
        } else {
            assertEquals(chain.files.get(baseLayer).toString(), chain.backend.root().backing().filename());
        }
        chain.backend.flush();
        chain.close();
        chain.graph = null;

        Path top = chain.top();
        QemuImg.Result check = QemuImg.run("check", top.toString());
        assertEquals(0, check.exit(), check.output());
        QemuImg.Result info = QemuImg.run("info", top.toString());
        if (baseLayer < 0) {
            assertTrue(!info.output().contains("backing file:"), info.output());
        } else {
            assertTrue(info.output().contains("backing file: " + chain.files.get(baseLayer)), info.output());
        }
        Path expected = dir.resolve("expected.raw");
        Files.write(expected, chain.model);
        QemuImg.Result cmp = QemuImg.run("compare", "-f", "qcow2", "-F", "raw", top.toString(), expected.toString());
        assertEquals(0, cmp.exit(), cmp.output());
    }
}
