package dev.strata.jobs.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.testing.QemuImg;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Progress of a throttled intermediate commit, sampled as a client polling {@code query-block-jobs}
 * sees it. QEMU 7.2 (measured on this chain at 1 MiB/s, 20 ms polls) shows
 * {@code 0, 512K, 1M, 16.5M, 17M, 33M, 33.5M, 49M..} : an unallocated stretch is passed over as
 * soon as the job reaches it, before the data after it is copied, and the tail after the last data
 * is passed when the job gets there. Strata must show the same shape (its steps are smaller).
 */
@Timeout(120)
class CommitProgressTest {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void offsetPassesUnallocatedStretchesAsTheJobReachesThem() throws Exception {
        assumeTrue(QemuImg.available(), "qemu-img missing: commit progress NOT tested");
        String base = dir.resolve("base.qcow2").toString();
        String mid = dir.resolve("mid.qcow2").toString();
        String top = dir.resolve("top.qcow2").toString();
        QemuImg.run("create", "-q", "-f", "qcow2", base, "64M");
        QemuImg.run("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", mid);
        qemuIo(mid, "write -P 2 0 1M", "write -P 2 16M 1M", "write -P 2 32M 1M", "write -P 2 48M 1M");
        QemuImg.run("create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top);
        BlockGraph g = new BlockGraph();
        g.createBackend("virtio0", g.open(BlockOptions.empty().with("file", top)), BlockBackend.CacheMode.WRITEBACK);
        JobManager jobs = new JobManager();
        Job job = Commit.start(jobs, g, new CommitRequest(null, "virtio0", null, base, null, mid, null, 1 << 20, OnError.REPORT, true, true));
        List<Long> seen = new ArrayList<>();
        while (!job.status().equals(JobStatus.CONCLUDED) && !job.status().equals(JobStatus.NULL)) {
            seen.add(job.offset());
            Thread.sleep(10);
        }
        long finalOffset = job.offset();
        g.closeAll();
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i) >= seen.get(i - 1), "offset went back: " + seen);
        }
        assertEquals(64 * MIB, finalOffset);
        // while each 1 MiB data extent after a gap was being copied (1 s at 1 MiB/s), the offset
        // already stood past the gap before it: seen inside [extent start, extent end)
        for (long extent : new long[] {16 * MIB, 32 * MIB, 48 * MIB}) {
            assertTrue(seen.stream().anyMatch(o -> o >= extent && o < extent + MIB),
                    "no sample inside the data at " + extent / MIB + " MiB: the gap before it was not passed as the job got there: " + seen);
        }
        // and nothing beyond the last data extent was counted before the job got there
        assertTrue(seen.stream().noneMatch(o -> o > 49 * MIB && o < 64 * MIB), "tail counted early: " + seen);
    }

    private static void qemuIo(String image, String... cmds) throws Exception {
        List<String> c = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
        for (String x : cmds) {
            c.add("-c");
            c.add(x);
        }
        c.add(image);
        Process p = new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor() == 0);
    }
}
