package dev.strata.harness.torture;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CI-sized load soak (20 s of {@link LoadRun}; the long one is {@code bin/strata bench load}):
 * 4 disks x iodepth 32 verifying, a job per disk, two QMP pollers; no verification failure, no
 * failed poll, no leaked descriptors or threads.
 */
class LoadSoakTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void fourBusyDisksWithJobsAndPollersLeakNothing() throws Exception {
        Assumptions.assumeTrue(Tools.qemuAvailable(), "LOAD SOAK SKIPPED: qemu-img/qemu-io (qemu-utils) are not installed");
        LoadRun.Result r = LoadRun.run(dir, Duration.ofSeconds(20), System.out);
        System.out.println(r.describe());
        assertTrue(r.ok(), r.describe());
        assertTrue(r.polls() > 100, "the pollers ran: " + r.polls());
        assertTrue(r.guestIos() > 1000, "the guests ran: " + r.guestIos());
    }
}
