package dev.strata.jobs.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.QemuImg;
import dev.strata.jobs.testing.TestChain;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backup with {@code compress: true}: the target holds the disk as it was at the start, its data
 * clusters stored compressed (qemu-img check counts them), while the guest writes; targets that
 * cannot store compressed clusters are refused with QEMU's message.
 */
@Timeout(120)
class BackupCompressTest {

    private static final long SIZE = 16L << 20;
    private static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private TestChain chain;

    @BeforeEach
    void needQemuImg() {
        assumeTrue(QemuImg.available(), "qemu-img (qemu-utils) missing: backup compress NOT tested");
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        if (chain != null) {
            chain.close();
        }
    }

    @Test
    void compressedBackupHoldsThePointInTimeWhileTheGuestWrites() throws Exception {
        chain = TestChain.build(dir, "qcow2", 2, SIZE, 0.3, 5);
        // compressible text over the first 8 MiB (the chain's own data is random: deflate cannot shrink it)
        byte[] text = "strata backup compress line of very repetitive text\n".repeat(20_000).getBytes(StandardCharsets.US_ASCII);
        int span = 8 << 20;
        for (int off = 0; off < span; off += text.length) {
            int n = Math.min(text.length, span - off);
            chain.backend.write(off, ByteBuffer.wrap(text, 0, n));
            System.arraycopy(text, 0, chain.model, off, n);
        }
        byte[] atStart = chain.model.clone();
        Path b = dir.resolve("BK.qcow2");
        BlockNode target = JobTargets.createAndOpen(chain.graph, b.toString(), "qcow2", SIZE, null, false);
        GuestWriters guest = new GuestWriters(chain, 4, 0, SIZE, 9).think(50_000);
        Job job = Backup.start(jobs, chain.graph, null, "virtio0", target, "full", 8L << 20, OnError.REPORT, OnError.REPORT,
                true, true, () -> chain.graph.close(target), null, false, true);
        guest.start();
        assertTrue(job.awaitStatus(JobStatus.NULL, T), "backup did not end");
        guest.stop();
        assertTrue(guest.errors.isEmpty(), guest.errors.toString());
        assertEquals(0, guest.mismatches.get());
        assertEquals(null, job.error());
        assertTrue(guest.writes.get() > 0);
        assertEquals(-1, chain.firstMismatch(), "the drive lost guest writes");
        chain.close();
        chain = null;
        QemuImg.Result check = QemuImg.run("check", b.toString());
        assertEquals(0, check.exit(), check.output());
        Matcher m = Pattern.compile("([0-9.]+)% compressed clusters").matcher(check.output());
        assertTrue(m.find() && Double.parseDouble(m.group(1)) > 0, "no compressed clusters: " + check.output());
        Path raw = dir.resolve("expected.raw");
        Files.write(raw, atStart);
        QemuImg.Result cmp = QemuImg.run("compare", "-f", "qcow2", "-F", "raw", b.toString(), raw.toString());
        assertEquals(0, cmp.exit(), cmp.output());
    }

    @Test
    void aTargetWithoutCompressedWritesIsRefusedAsQemuRefusesIt() throws Exception {
        chain = TestChain.build(dir, "qcow2", 1, SIZE, 0.3, 6);
        Path b = dir.resolve("BK.raw");
        BlockNode target = JobTargets.createAndOpen(chain.graph, b.toString(), "raw", SIZE, null, false);
        JobException e = assertThrows(JobException.class, () -> Backup.start(jobs, chain.graph, null, "virtio0", target,
                "full", 0, OnError.REPORT, OnError.REPORT, true, true, () -> { }, null, false, true));
        assertEquals("Compression is not supported for this drive ", e.getMessage());
        assertTrue(jobs.jobsNewestFirst().isEmpty(), "no job may be left behind");
        chain.graph.close(target);
    }
}
