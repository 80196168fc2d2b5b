package dev.strata.jobs.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockNode;
import dev.strata.jobs.EventLog;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.TestChain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many seeds: random chain depth (2-5), speed, writer count and an action at a random moment
 * (nothing, pause/resume, set-speed, drain, cancel). Whatever happens, the guest's data is intact
 * and the chain is either fully streamed or exactly as before.
 */
@Timeout(300)
class StreamSeedsTest {

    private static final long SIZE = 8L << 20;
    private static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void randomScenarios() throws Exception {
        for (long seed = 1; seed <= 24; seed++) {
            run(seed);
        }
    }

    private void run(long seed) throws Exception {
        Random rnd = new Random(seed);
        int depth = 2 + rnd.nextInt(4);
        Path sub = Files.createDirectories(dir.resolve("s" + seed));
        TestChain chain = TestChain.build(sub, "test-cow", depth, SIZE, 0.2 + rnd.nextDouble() * 0.5, seed);
        JobManager jobs = new JobManager();
        EventLog log = new EventLog();
        jobs.addListener(log);
        try {
            BlockNode oldBacking = chain.backend.root().backing();
            GuestWriters w = new GuestWriters(chain, 1 + rnd.nextInt(8), 0, SIZE, seed).think(rnd.nextInt(500_000)).start();
            long speed = rnd.nextBoolean() ? 0 : (1 + rnd.nextInt(8)) << 20;
            StreamJob job = Stream.start(jobs, chain.graph, StreamRequest.of("s", "virtio0", null, speed));
            Thread.sleep(rnd.nextInt(50));
            int action = rnd.nextInt(5);
            boolean cancelled = false;
            try {
                switch (action) {
                    case 1 -> {
                        jobs.pause(job);
                        Thread.sleep(rnd.nextInt(30));
                        jobs.resume(job);
                    }
                    case 2 -> jobs.setSpeed(job, rnd.nextBoolean() ? 0 : 512 << 10);
                    case 3 -> {
                        try (BlockNode.Drained d = chain.backend.root().drain()) {
                            Thread.sleep(rnd.nextInt(20));
                        }
                    }
                    case 4 -> {
                        jobs.cancel(job);
                        cancelled = true;
                    }
                    default -> { }
                }
            } catch (dev.strata.jobs.JobException e) {
                // the job may already have finished: verbs then fail with QEMU's messages, which is fine
                assertTrue(e.getMessage().startsWith("Job 's' in state") || e.getMessage().startsWith("Can't resume"), e.getMessage());
            }
            if (speed > 0 && !cancelled) {
                try {
                    jobs.setSpeed(job, 0);   // let a slow job finish quickly
                } catch (dev.strata.jobs.JobException e) {
                    assertTrue(e.getMessage().startsWith("Job 's' in state"), e.getMessage());
                }
            }
            assertTrue(job.awaitStatus(JobStatus.NULL, T), "seed " + seed + ": " + log.events());
            w.stop();
            assertTrue(w.errors.isEmpty(), "seed " + seed + ": " + w.errors);
            assertEquals(0, w.mismatches.get(), "seed " + seed);
            assertEquals(-1, chain.firstMismatch(), "seed " + seed);
            List<String> ev = log.events();
            if (ev.contains("CANCELLED")) {
                assertSame(oldBacking, chain.backend.root().backing(), "seed " + seed + ": cancel keeps the chain");
            } else {
                assertTrue(ev.contains("COMPLETED"), "seed " + seed + ": " + ev);
                assertNull(chain.backend.root().backing(), "seed " + seed);
            }
            assertEquals("null", ev.get(ev.size() - 1));
        } finally {
            jobs.cancelAll(Duration.ofSeconds(10));
            chain.close();
        }
    }
}
