package dev.strata.jobs.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.ChainExtent;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.QemuImg;
import dev.strata.jobs.testing.TestChain;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backup's merged runs (up to 1 MiB per copy) and zero ranges: the target still holds the disk
 * exactly as it was at the start while the guest writes hard, ranges the chain reads as zeros are
 * left unallocated in a new target, and written as zeros where the target would otherwise show
 * its backing file.
 */
@Timeout(180)
class BackupRunsTest {

    private static final long SIZE = 32L << 20;
    private static final int CLUSTER = 64 << 10;
    private static final Duration T = Duration.ofSeconds(90);

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private TestChain chain;

    @BeforeEach
    void needQemuImg() {
        assumeTrue(QemuImg.available(), "qemu-img (qemu-utils) missing: backup runs NOT tested");
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        if (chain != null) {
            chain.close();
        }
    }

    @Test
    void mergedRunsKeepThePointInTimeWhileCopyBeforeWriteRacesThem() throws Exception {
        for (long speed : new long[] {64L << 20, 16L << 20}) {
            Path sub = Files.createDirectories(dir.resolve("s" + speed));
            chain = TestChain.build(sub, "qcow2", 2, SIZE, 0.5, 11 + speed);
            byte[] atStart = chain.model.clone();
            Path b = sub.resolve("BK.qcow2");
            BlockNode target = JobTargets.createAndOpen(chain.graph, b.toString(), "qcow2", SIZE, null, false);
            // writers first hit the clusters the job copies first (the start of the disk): cbw and
            // the job's runs meet on the same clusters
            GuestWriters near = new GuestWriters(chain, 4, 0, 4L << 20, 5).think(0);
            // the rest of the disk by a second set: two sets over the same blocks would race each
            // other's model updates (both number their threads 0..3 and split blocks by index)
            GuestWriters all = new GuestWriters(chain, 4, 4L << 20, SIZE, 6).think(20_000);
            Job job = Backup.start(jobs, chain.graph, null, "virtio0", target, "full", speed, OnError.REPORT, OnError.REPORT,
                    true, true, () -> chain.graph.close(target));
            near.start();
            all.start();
            assertTrue(job.awaitStatus(JobStatus.NULL, T), "backup did not end");
            near.stop();
            all.stop();
            assertTrue(near.errors.isEmpty() && all.errors.isEmpty(), near.errors + " " + all.errors);
            assertEquals(0, near.mismatches.get() + all.mismatches.get());
            assertEquals(null, job.error());
            assertTrue(near.writes.get() + all.writes.get() > 0);
            assertEquals(-1, chain.firstMismatch(), "the drive lost guest writes");
            chain.close();
            chain = null;
            assertEquals(0, QemuImg.run("check", b.toString()).exit());
            assertSameContent(b, atStart);
        }
    }

    @Test
    void zeroRangesOfTheChainStayUnallocatedInANewTarget() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.3, 21);
        BlockNode source = chain.backend.root();
        // which clusters the chain reads as zeros (all of each cluster), before the job
        boolean[] zero = new boolean[(int) (SIZE / CLUSTER)];
        int zeroClusters = 0;
        for (int c = 0; c < zero.length; c++) {
            ChainExtent e = ChainExtent.at(source, (long) c * CLUSTER, CLUSTER);
            zero[c] = e.zero() && e.length() == CLUSTER;
            zeroClusters += zero[c] ? 1 : 0;
        }
        assertTrue(zeroClusters > 50, "the test chain should have empty clusters: " + zeroClusters);
        byte[] atStart = chain.model.clone();
        Path b = dir.resolve("BK.qcow2");
        BlockNode target = JobTargets.createAndOpen(chain.graph, b.toString(), "qcow2", SIZE, null, false);
        Job job = Backup.start(jobs, chain.graph, null, "virtio0", target, "full", 0, OnError.REPORT, OnError.REPORT,
                true, false, () -> { });
        assertTrue(job.awaitStatus(JobStatus.CONCLUDED, T));
        assertEquals(null, job.error());
        assertEquals(SIZE, job.offset(), "zero ranges count as progress");
        for (int c = 0; c < zero.length; c++) {
            BlockStatus s = target.blockStatus((long) c * CLUSTER, CLUSTER);
            if (zero[c]) {
                assertNotEquals(BlockStatus.State.DATA, s.state(), "cluster " + c + " was copied, though it reads as zeros");
            }
        }
        jobs.dismiss(job);
        chain.graph.close(target);
        chain.close();
        chain = null;
        assertSameContent(b, atStart);
    }

    @Test
    void zeroRangesAreWrittenAsZerosWhereTheTargetsBackingHasData() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.3, 31);
        byte[] atStart = chain.model.clone();
        // the target's backing file is full of 0xA5: a skipped zero range would show it
        Path junk = dir.resolve("junk.qcow2");
        DriverRegistry.standard().require("qcow2").create(junk, SIZE, BlockOptions.empty());
        BlockGraph g = new BlockGraph();
        BlockNode j = g.open(BlockOptions.of(Map.of("driver", "qcow2", "file", junk.toString())));
        byte[] fill = new byte[1 << 20];
        Arrays.fill(fill, (byte) 0xA5);
        for (long off = 0; off < SIZE; off += fill.length) {
            j.write(off, ByteBuffer.wrap(fill));
        }
        j.flush();
        g.closeAll();
        BlockNode junkNode = chain.graph.open(BlockOptions.of(Map.of("driver", "qcow2", "file", junk.toString(),
                "read-only", "on")));
        Path b = dir.resolve("BK.qcow2");
        BlockNode target = JobTargets.createAndOpen(chain.graph, b.toString(), "qcow2", SIZE, junkNode, false);
        Job job = Backup.start(jobs, chain.graph, null, "virtio0", target, "full", 0, OnError.REPORT, OnError.REPORT,
                true, true, () -> chain.graph.close(target));
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertEquals(null, job.error());
        chain.close();
        chain = null;
        assertSameContent(b, atStart);   // qemu-img compare reads the target through its backing file
    }

    private void assertSameContent(Path image, byte[] expected) throws Exception {
        Path raw = dir.resolve("expected-" + System.nanoTime() + ".raw");
        Files.write(raw, expected);
        QemuImg.Result r = QemuImg.run("compare", "-f", "qcow2", "-F", "raw", image.toString(), raw.toString());
        assertEquals(0, r.exit(), r.output());
    }
}
