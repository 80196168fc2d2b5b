package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.harness.torture.QmpLink;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 17, the link drops mid-mirror ({@code ip link set … down} between the hosts): the job
 * fails ({@code on-target-error=report}) or pauses ({@code stop}) while the guest goes on
 * writing and verifying on the source disk; after the link is back the job is restarted or
 * resumed and converges to an identical copy. With {@code reconnect-delay} an outage shorter
 * than the delay is ridden out without an error.
 *
 * <p>The link drops while data is being copied (after the job's initial scan). TCP in both namespaces gives up after 3 retransmissions ({@code tcp_retries2=3}, about 3 s,
 * instead of about 15 minutes), so a pulled link is noticed while the test runs.
 */
@Timeout(300)
class LinkDropTest extends TwoHostTest {

    /** Slow enough that the link drops while data is still being copied. */
    private static final String SPEED = "\"speed\": 3145728";

    private Path src;
    private Path dst;
    private MachineProcess d;
    private MachineProcess s;
    private HostPort at;

    @BeforeEach
    void setUp() throws Exception {
        link.setTcpRetries(3);
        src = rig.image("src.qcow2", true);
        dst = rig.image("dst.qcow2", false);
        d = rig.strata(link.destination(), "dst", MigrationRig.destinationDisk(dst));
        at = rig.serve(d, "");
        s = rig.strataSource(src);
    }

    private long guestOperations() throws Exception {
        return Long.parseLong(QmpLink.field(s.ok("x-strata-query-guest", ""), "operations"));
    }

    /**
     * Waits until the job copies data (past its initial scan, which zeroes the target where the
     * source is unallocated) with some left to copy, so the link drops mid-copy.
     */
    private void awaitCopying() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            String jobs = s.ok("query-block-jobs", "");
            String len = QmpLink.field(jobs, "len");
            String offset = QmpLink.field(jobs, "offset");
            if (len != null && offset != null && Long.parseLong(len) > 0 && Long.parseLong(offset) > 0
                    && Long.parseLong(len) - Long.parseLong(offset) > (4 << 20)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the job did not start copying: " + s.ok("query-block-jobs", ""));
    }

    /** Link down until the job reports the error, checking the guest runs on meanwhile; then up again. */
    private String dropUntilError(int since) throws Exception {
        awaitCopying();
        link.setLinkUp(false);
        long before = guestOperations();
        String error = s.awaitEvent("BLOCK_JOB_ERROR", since, Duration.ofSeconds(60));
        Thread.sleep(300);
        assertTrue(guestOperations() > before, "the guest goes on while the link is down");
        assertTrue(s.ok("query-status", "").contains("\"status\": \"running\""));
        link.setLinkUp(true);
        return error;
    }

    /** The job (running again) converges: READY, cancel, the copy equals the source; guest verified. */
    private void converge(int since) throws Exception {
        MigrationRig.awaitReady(s, since);
        s.ok("stop", "");
        MigrationRig.finish(s, "block-job-cancel");
        rig.assertSameOverNbd(src, at);
        d.ok("nbd-server-stop", "");
        d.quit();
        MigrationRig.assertSame(src, dst);
        MigrationRig.assertGuestVerified(s.quit());
        MigrationRig.assertClean(dst);
    }

    @Test
    void onTargetErrorStopPausesAndTheResumedJobConverges() throws Exception {
        MigrationRig.addRemote(s, at, "");
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\", "
                + "\"on-target-error\": \"stop\", " + SPEED);
        String error = dropUntilError(since);
        assertTrue(error.contains("\"action\": \"stop\"") && error.contains("\"operation\": \"write\""), error);
        String jobs = s.ok("query-block-jobs", "");
        assertEquals("true", QmpLink.field(jobs, "paused"), jobs);
        // the nbd node reconnects in the background once the link is back; resume retries the failed writes
        Thread.sleep(1000);
        int resumed = s.eventCount();
        s.ok("block-job-set-speed", "\"device\": \"mig\", \"speed\": 0");
        s.ok("block-job-resume", "\"device\": \"mig\"");
        converge(resumed);
    }

    @Test
    void aLinkAlreadyDownWhenTheMirrorStartsMeetsOnTargetErrorToo() throws Exception {
        MigrationRig.addRemote(s, at, "");
        link.setLinkUp(false);
        int since = s.eventCount();
        // the initial scan zeroes the target first: its failure goes through the policy as well
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\", "
                + "\"on-target-error\": \"stop\"");
        String error = s.awaitEvent("BLOCK_JOB_ERROR", since, Duration.ofSeconds(60));
        assertTrue(error.contains("\"action\": \"stop\""), error);
        link.setLinkUp(true);
        Thread.sleep(1000);
        int resumed = s.eventCount();
        s.ok("block-job-resume", "\"device\": \"mig\"");
        converge(resumed);
    }

    @Test
    void onTargetErrorReportFailsTheJobAndARestartConverges() throws Exception {
        MigrationRig.addRemote(s, at, "");
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\", "
                + "\"on-target-error\": \"report\", " + SPEED);
        String error = dropUntilError(since);
        assertTrue(error.contains("\"action\": \"report\""), error);
        String done = s.awaitEvent("BLOCK_JOB_COMPLETED", since, Duration.ofSeconds(60));
        assertTrue(done.contains("\"error\""), done);
        Thread.sleep(1000);
        int restarted = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\"");
        converge(restarted);
    }

    @Test
    void reconnectDelayRidesOutAShortOutage() throws Exception {
        MigrationRig.addRemote(s, at, ", \"reconnect-delay\": 30");
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\", "
                + "\"on-target-error\": \"report\", " + SPEED);
        awaitCopying();
        link.setLinkUp(false);
        long before = guestOperations();
        Thread.sleep(6000); // longer than TCP's 3 retransmissions: the connection breaks and is re-made
        assertTrue(guestOperations() > before, "the guest goes on while the link is down");
        link.setLinkUp(true);
        s.ok("block-job-set-speed", "\"device\": \"mig\", \"speed\": 0");
        MigrationRig.awaitReady(s, since);
        for (String e : s.qmp.events().subList(since, s.eventCount())) {
            assertFalse(e.contains("BLOCK_JOB_ERROR") || e.contains("\"error\""), "no error while reconnecting: " + e);
        }
        converge(since);
    }
}
