package dev.strata.jobs.mirror;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.QemuImg;
import dev.strata.jobs.testing.TestChain;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code copy-mode: write-blocking}: guest writes reach the target before they complete. */
@Timeout(180)
class WriteBlockingMirrorTest {

    private static final long SIZE = 32L << 20;
    private static final Duration T = Duration.ofSeconds(90);

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private final EventLog log = new EventLog();
    private TestChain chain;

    @BeforeEach
    void setUp() {
        jobs.addListener(log);
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        if (chain != null) {
            chain.close();
        }
    }

    private MirrorRequest request(String target, boolean writeBlocking, long speed, OnError onTarget) {
        return new MirrorRequest("m", "virtio0", target, "full", speed, 0, OnError.REPORT, onTarget, true, true,
                writeBlocking, null, 0, true, true);
    }

    private static byte[] read(BlockNode n, long offset, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        n.read(offset, b);
        return b.array();
    }

    private static byte[] pattern(int len, int seed) {
        return TestChain.stamp(0x77000000 | seed, seed, len);
    }

    @Test
    void aGuestFasterThanTheBackgroundCopyStillConverges() throws Exception {
        chain = TestChain.build(dir, "qcow2", 3, SIZE, 0.3, 211);
        BlockNode target = JobTargets.createAndOpen(chain.graph, dir.resolve("M.qcow2").toString(), "qcow2", SIZE, null, false);
        // unthrottled writers against a copy limited to 8 MiB/s: every 4 KiB write would dirty a
        // whole 64 KiB granule in background mode, far more than the job copies
        GuestWriters w = new GuestWriters(chain, 8, 0, SIZE, 211).think(0).start();
        MirrorJob job = Mirror.start(jobs, chain.graph, request(target.nodeName(), true, 8L << 20, OnError.REPORT));
        assertTrue(job.writeBlocking());
        assertTrue(log.await("READY", T), log.events().toString());
        Thread.sleep(200);
        assertTrue(w.writes.get() > 0);
        jobs.complete(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertSame(target, chain.backend.root(), "pivoted onto the target");
        w.stop();
        assertTrue(w.errors.isEmpty(), "guest I/O failed: " + w.errors);
        assertEquals(0, w.mismatches.get());
        assertEquals(-1, chain.firstMismatch(), "the target (now the drive) differs from what the guest wrote");
        assertTrue(log.events().contains("COMPLETED"), log.events().toString());
        chain.close();
        chain.graph = null;
        if (QemuImg.available()) {
            QemuImg.Result r = QemuImg.run("check", dir.resolve("M.qcow2").toString());
            assertEquals(0, r.exit(), r.output());
        }
    }

    @Test
    void aWriteIsOnTheTargetWhenTheGuestSeesItCompleteEvenWithTheJobPaused() throws Exception {
        for (boolean writeBlocking : new boolean[] {false, true}) {
            log.clear();
            Path sub = java.nio.file.Files.createDirectories(dir.resolve("wb-" + writeBlocking));
            chain = TestChain.build(sub, "qcow2", 2, SIZE, 0.2, 5);
            BlockNode target = JobTargets.createAndOpen(chain.graph, sub.resolve("M.qcow2").toString(), "qcow2", SIZE, null, false);
            MirrorJob job = Mirror.start(jobs, chain.graph, request(target.nodeName(), writeBlocking, 0, OnError.REPORT));
            assertTrue(log.await("READY", T), log.events().toString());
            jobs.pause(job);
            assertTrue(job.awaitStatus(JobStatus.STANDBY, T));
            // one aligned granule, a piece inside a clean granule, and a write-zeroes
            byte[] whole = pattern(64 << 10, 1);
            byte[] piece = pattern(3000, 2);
            chain.backend.write(5L << 20, ByteBuffer.wrap(whole));
            chain.backend.write((7L << 20) + 100, ByteBuffer.wrap(piece));
            chain.backend.writeZeroes(9L << 20, 128 << 10, true);
            if (writeBlocking) {
                assertArrayEquals(whole, read(target, 5L << 20, whole.length));
                assertArrayEquals(piece, read(target, (7L << 20) + 100, piece.length));
                assertArrayEquals(new byte[128 << 10], read(target, 9L << 20, 128 << 10));
                assertEquals(job.len(), job.offset(), "nothing became dirty");
            } else {
                // the paused background job has not copied: the target still has the old data
                assertFalse(java.util.Arrays.equals(whole, read(target, 5L << 20, whole.length)));
            }
            jobs.resume(job);
            jobs.complete(job);
            assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
            assertSame(target, chain.backend.root());
            assertArrayEquals(whole, read(target, 5L << 20, whole.length));
            chain.close();
            chain = null;
        }
    }

    @Test
    void overlappingGuestWritesReachTheTargetInTheOrderTheyReachTheSource() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.3, 29);
        BlockNode target = JobTargets.createAndOpen(chain.graph, dir.resolve("M.qcow2").toString(), "qcow2", SIZE, null, false);
        MirrorJob job = Mirror.start(jobs, chain.graph, request(target.nodeName(), true, 0, OnError.REPORT));
        assertTrue(log.await("READY", T), log.events().toString());
        // paused: no background copy, so whatever the target holds came through the guest writes
        jobs.pause(job);
        assertTrue(job.awaitStatus(JobStatus.STANDBY, T));
        int region = 256 << 10;
        java.util.List<Thread> writers = new java.util.ArrayList<>();
        java.util.List<Throwable> errors = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        for (int w = 0; w < 4; w++) {
            int me = w;
            writers.add(Thread.ofVirtual().start(() -> {
                java.util.Random rnd = new java.util.Random(me);
                try {
                    for (int i = 0; i < 1500; i++) {
                        // the same bytes from several writers at once, aligned and not
                        int off = rnd.nextInt(region - 1);
                        int len = 1 + rnd.nextInt(Math.min(96 << 10, region - off));
                        chain.backend.write(off, ByteBuffer.wrap(TestChain.stamp(0x61000000 | me, i, len)));
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
        }
        for (Thread t : writers) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        assertArrayEquals(read(chain.backend.root(), 0, region), read(target, 0, region),
                "a later write to the same bytes reached the target before an earlier one");
        assertEquals(job.len(), job.offset(), "nothing became dirty");
        jobs.resume(job);
        jobs.cancel(job, true);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
    }

    private BlockNode faultyTarget(String name) {
        Path p = dir.resolve(name);
        DriverRegistry.standard().require("qcow2").create(p, SIZE, BlockOptions.empty());
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(4 * SIZE);   // the fault filter cannot grow its file: room for qcow2 to allocate
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return chain.graph.open(BlockOptions.empty().with("driver", "qcow2").with("backing", "")
                .with("file.driver", "fault-injection").with("file.file.filename", p.toString()));
    }

    @Test
    void aTargetErrorFailsTheJobWithReportButNotTheGuestWrite() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.3, 17);
        BlockNode target = faultyTarget("M.qcow2");
        MirrorJob job = Mirror.start(jobs, chain.graph, request(target.nodeName(), true, 0, OnError.REPORT));
        assertTrue(log.await("READY", T), log.events().toString());
        ((FaultInjectionDriver) target.file().driver()).inject(FaultRule.everywhere(FaultRule.Op.WRITE, BlockException.Kind.IO));
        byte[] data = pattern(64 << 10, 3);
        assertDoesNotThrow(() -> chain.backend.write(3L << 20, ByteBuffer.wrap(data)));
        System.arraycopy(data, 0, chain.model, 3 << 20, data.length);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertTrue(log.events().contains("ERROR write report"), log.events().toString());
        assertTrue(log.events().stream().anyMatch(e -> e.startsWith("COMPLETED ") && e.length() > "COMPLETED ".length()),
                "failed with an error: " + log.events());
        assertNotSame(target, chain.backend.root(), "no pivot");
        assertEquals(-1, chain.firstMismatch(), "the source has every guest write");
    }

    @Test
    void aTargetErrorWithStopPausesAndTheWriteIsCopiedAfterResume() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.3, 19);
        BlockNode target = faultyTarget("M.qcow2");
        FaultInjectionDriver fault = (FaultInjectionDriver) target.file().driver();
        MirrorJob job = Mirror.start(jobs, chain.graph, request(target.nodeName(), true, 0, OnError.STOP));
        assertTrue(log.await("READY", T), log.events().toString());
        fault.inject(FaultRule.everywhere(FaultRule.Op.WRITE, BlockException.Kind.IO));
        byte[] data = pattern(64 << 10, 4);
        assertDoesNotThrow(() -> chain.backend.write(6L << 20, ByteBuffer.wrap(data)));
        System.arraycopy(data, 0, chain.model, 6 << 20, data.length);
        assertTrue(log.events().contains("ERROR write stop"), log.events().toString());
        assertTrue(job.awaitStatus(JobStatus.STANDBY, T), log.events().toString());
        assertEquals(IoStatus.FAILED, job.blockJobInfo().ioStatus());
        fault.clear();
        jobs.resume(job);
        jobs.complete(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertSame(target, chain.backend.root());
        assertArrayEquals(data, read(target, 6L << 20, data.length));
        assertEquals(-1, chain.firstMismatch());
    }
}
