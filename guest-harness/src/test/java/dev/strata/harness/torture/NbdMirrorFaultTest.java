package dev.strata.harness.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.harness.guest.VerifyReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage migration faults (issue 17): a verifying guest's disk is mirrored onto a {@code qemu-nbd}
 * export while the destination dies, comes back, or fills up. In every case the job does what
 * {@code on-target-error} says, as QEMU 7.2 does (checked against QEMU 7.2 as the source, same
 * destinations: see docs/jobs.md, "Mirror faults onto NBD"), the source disk stays the guest's
 * disk, the guest sees no error and loses nothing it was told was written, and a job run again
 * (or resumed) converges to an identical copy ({@code qemu-img compare}).
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NbdMirrorFaultTest {

    private static final long SIZE = 64L << 20;
    /** The guest writes 16 MiB above 32 MiB, paced so a slowed mirror is still copying when the fault comes. */
    private static final String GUEST = "drive=virtio0,rw=randrw,bs=4k,iodepth=4,verify=on,fsync=8,offset=32M,size=16M,rate_iops=2000";

    @TempDir
    Path dir;

    @BeforeEach
    void needsQemu() {
        Assumptions.assumeTrue(Tools.qemuAvailable(), "NBD FAULT TESTS SKIPPED: qemu-img/qemu-nbd (qemu-utils) are not installed");
    }

    /** The source: 16 MiB of data at 0, a verifying guest above 32 MiB. */
    private FaultRig source() throws Exception {
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "disk.qcow2", Long.toString(SIZE));
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 0 16M", "disk.qcow2");
        FaultRig rig = new FaultRig(dir, "-drive", "file=" + dir.resolve("disk.qcow2") + ",format=qcow2,if=virtio", "-guest", GUEST);
        FaultRig.await("guest writes", () -> guestWrites(rig) > 100);
        return rig;
    }

    private static String driveMirror(NbdDestination dst, String policy, long speed) {
        return "{\"execute\": \"drive-mirror\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"m\", \"target\": \"" + dst.uri()
                + "\", \"format\": \"raw\", \"mode\": \"existing\", \"sync\": \"full\", \"speed\": " + speed
                + ", \"on-target-error\": \"" + policy + "\"}}";
    }

    private static long guestWrites(FaultRig rig) {
        return rig.machine.guest().workloads().stream().mapToLong(w -> w.result().writes()).sum();
    }

    private static long guestErrors(FaultRig rig) {
        return rig.machine.guest().workloads().stream().mapToLong(w -> w.result().errors()).sum();
    }

    private static String jobs(FaultRig rig) {
        try {
            return rig.call("{\"execute\": \"query-block-jobs\"}");
        } catch (Exception e) {
            return "";
        }
    }

    private static long jobOffset(FaultRig rig) {
        String j = jobs(rig);
        int at = j.indexOf("\"offset\": ");
        return at < 0 ? -1 : Long.parseLong(j.substring(at + 10).split("[,}]")[0].strip());
    }

    private static long count(FaultRig rig, String... parts) {
        return rig.qmp.events().stream().filter(e -> List.of(parts).stream().allMatch(e::contains)).count();
    }

    /** The fault left the guest alone: still on its own disk, running, writing, and told of no error. */
    private static void assertSourceUntouched(FaultRig rig) throws Exception {
        assertEquals("running", rig.status());
        String block = rig.call("{\"execute\": \"query-block\"}");
        assertTrue(block.contains("disk.qcow2"), "the guest still runs on its own disk: " + block);
        long before = guestWrites(rig);
        FaultRig.await("guest writes after the fault", () -> guestWrites(rig) > before + 50);
        assertEquals(0, guestErrors(rig), "the guest never sees the destination's errors");
    }

    /**
     * READY: stops the guest, cancels (libvirt's ending: the destination holds the copy), checks
     * every block the guest wrote, closes the source and compares it with the destination.
     */
    private void convergeAndCompare(FaultRig rig, NbdDestination dst) throws Exception {
        FaultRig.await("BLOCK_JOB_READY", () -> rig.event("BLOCK_JOB_READY") != null);
        rig.machine.guest().stopWorkloads(Duration.ofSeconds(30));
        assertEquals("{\"return\": {}}", rig.call("{\"execute\": \"block-job-cancel\", \"arguments\": {\"device\": \"m\"}}"));
        FaultRig.await("the job to end", () -> !jobs(rig).contains("\"device\": \"m\""));
        List<VerifyReport> reports = rig.machine.guest().verifyAll();
        assertEquals(1, reports.size());
        assertTrue(reports.get(0).ok(), reports.get(0).describe());
        rig.close();
        String cmp = Tools.must(dir, "qemu-img", "compare", "-U", "-f", "qcow2", "-F", "raw",
                dir.resolve("disk.qcow2").toString(), dst.imageSeenFromHere().toString());
        assertTrue(cmp.contains("Images are identical"), cmp);
    }

    @Test
    void destinationKilledWithOnTargetErrorReportFailsTheJobAndARunAgainConverges() throws Exception {
        try (NbdDestination dst = NbdDestination.inDir(dir, SIZE); FaultRig rig = source()) {
            assertEquals("{\"return\": {}}", rig.call(driveMirror(dst, "report", 4L << 20)));
            FaultRig.await("copying", () -> jobOffset(rig) > (1 << 20));
            dst.kill();
            FaultRig.await("BLOCK_JOB_COMPLETED", () -> rig.event("BLOCK_JOB_COMPLETED") != null);
            String done = rig.event("BLOCK_JOB_COMPLETED");
            assertTrue(done.contains("\"error\": \"Input/output error\""), done);
            assertTrue(count(rig, "BLOCK_JOB_ERROR", "\"operation\": \"write\"", "\"action\": \"report\"") > 0, rig.qmp.events().toString());
            assertNull(rig.event("BLOCK_JOB_READY"));
            assertSourceUntouched(rig);
            // the destination is back (same socket, same image): the same command again converges
            dst.start();
            assertEquals("{\"return\": {}}", rig.call(driveMirror(dst, "report", 0)));
            convergeAndCompare(rig, dst);
        }
    }

    @Test
    void destinationKilledWithOnTargetErrorStopPausesTheJobAndResumeConverges() throws Exception {
        try (NbdDestination dst = NbdDestination.inDir(dir, SIZE); FaultRig rig = source()) {
            assertEquals("{\"return\": {}}", rig.call(driveMirror(dst, "stop", 4L << 20)));
            FaultRig.await("copying", () -> jobOffset(rig) > (1 << 20));
            dst.kill();
            FaultRig.await("BLOCK_JOB_ERROR stop", () -> count(rig, "BLOCK_JOB_ERROR", "\"action\": \"stop\"") > 0);
            FaultRig.await("paused job", () -> jobs(rig).contains("\"status\": \"paused\""));
            assertTrue(jobs(rig).contains("\"io-status\": \"failed\""), jobs(rig));
            assertSourceUntouched(rig);
            assertTrue(jobs(rig).contains("\"status\": \"paused\""), "the job waits for the operator: " + jobs(rig));
            dst.start();
            assertEquals("{\"return\": {}}", rig.call("{\"execute\": \"block-job-set-speed\", \"arguments\": {\"device\": \"m\", \"speed\": 0}}"));
            // the client reconnects in the background (every 200 ms); a resume before that stops again
            for (int i = 0; i < 50 && rig.event("BLOCK_JOB_READY") == null; i++) {
                if (jobs(rig).contains("\"status\": \"paused\"")) {
                    rig.call("{\"execute\": \"block-job-resume\", \"arguments\": {\"device\": \"m\"}}");
                }
                Thread.sleep(200);
            }
            convergeAndCompare(rig, dst);
        }
    }

    @Test
    void aShortOutageIsRiddenOutWithReconnectDelay() throws Exception {
        try (NbdDestination dst = NbdDestination.inDir(dir, SIZE); FaultRig rig = source()) {
            assertEquals("{\"return\": {}}", rig.call("{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"nbd\", "
                    + "\"node-name\": \"remote\", \"export\": \"dst\", \"server\": {\"type\": \"unix\", \"path\": \"" + dst.socket()
                    + "\"}, \"reconnect-delay\": 10}}"));
            assertEquals("{\"return\": {}}", rig.call("{\"execute\": \"blockdev-mirror\", \"arguments\": {\"device\": \"virtio0\", "
                    + "\"job-id\": \"m\", \"target\": \"remote\", \"sync\": \"full\", \"speed\": 4194304}}"));
            FaultRig.await("copying", () -> jobOffset(rig) > (1 << 20));
            dst.kill();
            Thread.sleep(500);  // an outage of half a second (plus the restart), well within the 10 s delay
            assertTrue(jobs(rig).contains("\"status\": \"running\""), "the job waits for the server: " + jobs(rig));
            dst.start();
            rig.call("{\"execute\": \"block-job-set-speed\", \"arguments\": {\"device\": \"m\", \"speed\": 0}}");
            FaultRig.await("BLOCK_JOB_READY", () -> rig.event("BLOCK_JOB_READY") != null);
            assertNull(rig.event("BLOCK_JOB_ERROR"), "no request failed: " + rig.qmp.events());
            assertEquals(0, guestErrors(rig));
            convergeAndCompare(rig, dst);
        }
    }

    /** ENOSPC on the destination's image (its tmpfs is 8 MiB, the source holds 16 MiB and more). */
    private NbdDestination fullDestination() throws Exception {
        String why = NbdDestination.whyNoTmpfs();
        Assumptions.assumeTrue(why == null, "ENOSPC TESTS SKIPPED: " + why);
        return NbdDestination.onSmallTmpfs(dir, SIZE, 8);
    }

    @Test
    void destinationFullWithOnTargetErrorReportFailsTheJobWithEnospc() throws Exception {
        try (NbdDestination dst = fullDestination(); FaultRig rig = source()) {
            assertEquals("{\"return\": {}}", rig.call(driveMirror(dst, "report", 0)));
            FaultRig.await("BLOCK_JOB_COMPLETED", () -> rig.event("BLOCK_JOB_COMPLETED") != null);
            String done = rig.event("BLOCK_JOB_COMPLETED");
            assertTrue(done.contains("\"error\": \"No space left on device\""), done);
            assertTrue(count(rig, "BLOCK_JOB_ERROR", "\"operation\": \"write\"", "\"action\": \"report\"") > 0);
            assertSourceUntouched(rig);
            rig.machine.guest().stopWorkloads(Duration.ofSeconds(30));
            assertTrue(rig.machine.guest().verifyAll().get(0).ok());
        }
    }

    @Test
    void destinationFullWithOnTargetErrorStopPausesAndResumeAfterMakingRoomConverges() throws Exception {
        enospcStops("stop");
    }

    @Test
    void destinationFullWithOnTargetErrorEnospcPausesAndResumeAfterMakingRoomConverges() throws Exception {
        enospcStops("enospc");
    }

    /** {@code stop} and {@code enospc} both pause on ENOSPC, with io-status {@code nospace}, as QEMU 7.2. */
    private void enospcStops(String policy) throws Exception {
        try (NbdDestination dst = fullDestination(); FaultRig rig = source()) {
            assertEquals("{\"return\": {}}", rig.call(driveMirror(dst, policy, 0)));
            FaultRig.await("paused job", () -> jobs(rig).contains("\"status\": \"paused\""));
            assertTrue(jobs(rig).contains("\"io-status\": \"nospace\""), jobs(rig));
            assertTrue(count(rig, "BLOCK_JOB_ERROR", "\"operation\": \"write\"", "\"action\": \"stop\"") > 0);
            assertNull(rig.event("BLOCK_JOB_COMPLETED"));
            assertSourceUntouched(rig);
            dst.grow(128);
            assertEquals("{\"return\": {}}", rig.call("{\"execute\": \"block-job-resume\", \"arguments\": {\"device\": \"m\"}}"));
            convergeAndCompare(rig, dst);
        }
    }

    @Test
    void destinationFullWithOnTargetErrorIgnoreRetriesUntilThereIsRoom() throws Exception {
        try (NbdDestination dst = fullDestination(); FaultRig rig = source()) {
            assertEquals("{\"return\": {}}", rig.call(driveMirror(dst, "ignore", 0)));
            FaultRig.await("ignored errors", () -> count(rig, "BLOCK_JOB_ERROR", "\"action\": \"ignore\"") > 3);
            String j = jobs(rig);
            assertTrue(j.contains("\"status\": \"running\"") && j.contains("\"io-status\": \"ok\""), j);
            assertNull(rig.event("BLOCK_JOB_READY"), "a chunk that failed is copied again: no READY while the target is full");
            assertNull(rig.event("BLOCK_JOB_COMPLETED"));
            assertSourceUntouched(rig);
            dst.grow(128);   // the retries now succeed: READY without any command
            convergeAndCompare(rig, dst);
        }
    }
}
