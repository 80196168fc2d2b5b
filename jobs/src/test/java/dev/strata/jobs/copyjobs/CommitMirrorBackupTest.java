package dev.strata.jobs.copyjobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.EventLog;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.backup.Backup;
import dev.strata.jobs.commit.Commit;
import dev.strata.jobs.commit.CommitRequest;
import dev.strata.jobs.mirror.Mirror;
import dev.strata.jobs.mirror.MirrorRequest;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.QemuImg;
import dev.strata.jobs.testing.TestChain;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Commit (intermediate, active), mirror (complete, soft cancel) and backup on qcow2 chains while the guest writes. */
@Timeout(180)
class CommitMirrorBackupTest {

    private static final long SIZE = 32L << 20;
    private static final Duration T = Duration.ofSeconds(90);

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private final EventLog log = new EventLog();
    private TestChain chain;

    @BeforeEach
    void setUp() {
        assumeTrue(QemuImg.available(), "qemu-img (qemu-utils) missing: commit/mirror/backup interop NOT tested");
        jobs.addListener(log);
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        if (chain != null) {
            chain.close();
        }
    }

    private void intact(GuestWriters w) throws InterruptedException {
        w.stop();
        assertTrue(w.errors.isEmpty(), "guest I/O failed: " + w.errors);
        assertEquals(0, w.mismatches.get());
        assertEquals(-1, chain.firstMismatch(), "drive content differs from the model");
    }

    private void checkClean(Path image) {
        QemuImg.Result r = QemuImg.run("check", image.toString());
        assertEquals(0, r.exit(), r.output());
    }

    private void assertSameContent(Path image, String fmt, byte[] expected) throws Exception {
        Path raw = dir.resolve("expected-" + System.nanoTime() + ".raw");
        Files.write(raw, expected);
        QemuImg.Result r = QemuImg.run("compare", "-f", fmt, "-F", "raw", image.toString(), raw.toString());
        assertEquals(0, r.exit(), r.output());
    }

    @Test
    void intermediateCommitWhileWriting() throws Exception {
        chain = TestChain.build(dir, "qcow2", 4, SIZE, 0.3, 101);
        BlockNode l0 = chain.node(0);
        GuestWriters w = new GuestWriters(chain, 6, 0, SIZE, 101).think(300_000).start();
        Job job = Commit.start(jobs, chain.graph, new CommitRequest(null, "virtio0", null, chain.files.get(0).toString(),
                null, chain.files.get(2).toString(), null, 0, OnError.REPORT, true, true));
        assertEquals(SIZE, job.len());
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        intact(w);
        assertEquals(List.of("created", "running", "waiting", "pending", "COMPLETED", "concluded", "null"), log.events());
        assertSame(l0, chain.backend.root().backing());
        assertTrue(l0.isReadOnly());
        chain.close();
        chain.graph = null;
        checkClean(chain.top());
        checkClean(chain.files.get(0));
        assertTrue(QemuImg.run("info", chain.top().toString()).output().contains("backing file: " + chain.files.get(0)));
        assertSameContent(chain.top(), "qcow2", chain.model);
    }

    @Test
    void commitArgumentErrors() {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.1, 5);
        JobException e = assertThrows(JobException.class, () -> Commit.start(jobs, chain.graph, CommitRequest.of("nosuch", null, null)));
        assertEquals(JobException.Kind.DEVICE_NOT_FOUND, e.kind());
        assertEquals("Device 'nosuch' not found", e.getMessage());
        assertEquals("Top image file nosuch.qcow2 not found",
                assertThrows(JobException.class, () -> Commit.start(jobs, chain.graph, CommitRequest.of("virtio0", null, "nosuch.qcow2"))).getMessage());
        assertEquals("Can't find '" + chain.files.get(1) + "' in the backing chain", assertThrows(JobException.class,
                () -> Commit.start(jobs, chain.graph, CommitRequest.of("virtio0", chain.files.get(1).toString(), chain.files.get(0).toString()))).getMessage());
        assertEquals("cannot commit an image into itself", assertThrows(JobException.class,
                () -> Commit.start(jobs, chain.graph, CommitRequest.of("virtio0", null, chain.files.get(0).toString()))).getMessage());
    }

    @Test
    void activeCommitReadyThenCompletePivotsOntoTheBase() throws Exception {
        chain = TestChain.build(dir, "qcow2", 3, SIZE, 0.3, 103);
        BlockNode l0 = chain.node(0);
        GuestWriters w = new GuestWriters(chain, 6, 0, SIZE, 103).think(300_000).start();
        Job job = Commit.start(jobs, chain.graph, CommitRequest.of("virtio0", null, null));
        assertTrue(log.await("READY", T), log.events().toString());
        Thread.sleep(200);   // writes keep coming while READY
        jobs.complete(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertSame(l0, chain.backend.root(), "the drive now runs on the base");
        intact(w);
        assertEquals(List.of("created", "running", "ready", "READY", "waiting", "pending", "COMPLETED", "concluded", "null"), log.events());
        chain.close();
        chain.graph = null;
        checkClean(chain.files.get(0));
        assertSameContent(chain.files.get(0), "qcow2", chain.model);
    }

    @Test
    void activeCommitSoftCancelAfterReadyKeepsTheChain() throws Exception {
        chain = TestChain.build(dir, "qcow2", 3, SIZE, 0.3, 107);
        BlockNode top = chain.backend.root();
        Job job = Commit.start(jobs, chain.graph, CommitRequest.of("virtio0", null, null));
        assertTrue(log.await("READY", T));
        jobs.blockJobCancel(job, false);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertSame(top, chain.backend.root());
        assertTrue(chain.node(0).isReadOnly());
        assertTrue(log.events().contains("COMPLETED") && !log.events().contains("CANCELLED"), log.events().toString());
        assertEquals(-1, chain.firstMismatch());
    }

    @Test
    void mirrorFullConvergesAndPivots() throws Exception {
        chain = TestChain.build(dir, "qcow2", 3, SIZE, 0.3, 109);
        Path m = dir.resolve("M.qcow2");
        BlockNode target = JobTargets.createAndOpen(chain.graph, m.toString(), "qcow2", SIZE, null, false);
        GuestWriters w = new GuestWriters(chain, 6, 0, SIZE, 109).think(300_000).start();
        Job job = Mirror.start(jobs, chain.graph, new MirrorRequest(null, "virtio0", target.nodeName(), "full", 0, 0,
                OnError.REPORT, OnError.REPORT, true, true));
        assertTrue(log.await("READY", T), log.events().toString());
        assertEquals("Need a root block node", assertThrows(JobException.class, () -> Mirror.checkSource(chain.graph, "virtio0")).getMessage());
        Thread.sleep(200);
        jobs.complete(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertSame(target, chain.backend.root());
        intact(w);
        chain.close();
        chain.graph = null;
        checkClean(m);
        assertTrue(!QemuImg.run("info", m.toString()).output().contains("backing file"));
        assertSameContent(m, "qcow2", chain.model);
    }

    @Test
    void mirrorTopSoftCancelLeavesAConsistentTarget() throws Exception {
        chain = TestChain.build(dir, "qcow2", 3, SIZE, 0.3, 113);
        BlockNode top = chain.backend.root();
        Path m = dir.resolve("M.qcow2");
        BlockNode target = JobTargets.createAndOpen(chain.graph, m.toString(), "qcow2", SIZE, top.backing(), false);
        GuestWriters w = new GuestWriters(chain, 6, 0, SIZE, 113).think(300_000).start();
        Job job = Mirror.start(jobs, chain.graph, new MirrorRequest(null, "virtio0", target.nodeName(), "top", 0, 0,
                OnError.REPORT, OnError.REPORT, true, true));
        assertTrue(log.await("READY", T));
        w.stop();
        jobs.blockJobCancel(job, false);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertSame(top, chain.backend.root(), "no pivot");
        intact(w);
        assertTrue(log.events().contains("COMPLETED") && !log.events().contains("CANCELLED"), log.events().toString());
        chain.close();
        chain.graph = null;
        checkClean(m);
        assertTrue(QemuImg.run("info", m.toString()).output().contains("backing file: " + chain.files.get(1)));
        assertSameContent(m, "qcow2", chain.model);
    }

    @Test
    void backupIsAPointInTimeCopyWhileTheGuestWrites() throws Exception {
        for (String sync : List.of("full", "top")) {
            log.clear();
            Path sub = Files.createDirectories(dir.resolve(sync));
            chain = TestChain.build(sub, "qcow2", 2, SIZE, 0.4, sync.length());
            BlockNode top = chain.backend.root();
            byte[] atStart = chain.model.clone();
            Path b = sub.resolve("BK.qcow2");
            BlockNode target = JobTargets.createAndOpen(chain.graph, b.toString(), "qcow2", SIZE,
                    sync.equals("top") ? top.backing() : null, false);
            Job job = Backup.start(jobs, chain.graph, null, "virtio0", target, sync, 8L << 20, OnError.REPORT, OnError.REPORT,
                    true, true, () -> chain.graph.close(target));
            GuestWriters w = new GuestWriters(chain, 6, 0, SIZE, 7).think(100_000).start();
            assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
            intact(w);
            assertEquals(List.of("created", "running", "paused", "running", "waiting", "pending", "COMPLETED", "concluded", "null"),
                    log.events());
            assertTrue(w.writes.get() > 0);
            chain.close();
            chain.graph = null;
            checkClean(b);
            assertSameContent(b, "qcow2", atStart);
            assertNotSame(atStart, chain.model);
        }
    }

    @Test
    void readBackHelper() {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.1, 1);
        ByteBuffer buf = ByteBuffer.allocate(4096);
        chain.backend.read(0, buf);
        assertArrayEquals(java.util.Arrays.copyOf(chain.model, 4096), buf.array());
    }
}
