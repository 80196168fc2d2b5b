package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 17's fault "latency and rate limits": over the shaped link (1 Gbit/s, 5 ms each way) a
 * Strata source mirrors onto a Strata destination while its verifying guest writes hard, and the
 * job must still reach READY and complete (pivot), the guest verifying on the remote disk after.
 * Background mode under a guest writing ~5,000 IOPS (the job switches itself to write-blocking
 * when the round trip keeps it from catching up, see MirrorJob); write-blocking mode under a
 * guest writing as fast as it can. Needs root (skipped otherwise, with the reason).
 */
@Timeout(300)
class ShapedLinkConvergenceTest extends TwoHostTest {

    /** Mirror onto the destination with {@code copyMode} under {@code guest}; READY, complete, and the guest verifies on the remote disk. */
    private void convergesAndPivots(String guest, String copyMode) throws Exception {
        Path src = rig.image("src.qcow2", true);
        Path dst = rig.image("dst.qcow2", false);
        MachineProcess d = rig.strata(link.destination(), "dst", MigrationRig.destinationDisk(dst));
        HostPort at = rig.serve(d, "");
        MachineProcess s = rig.strata(link.source(), "src", "-drive", "file=" + src + ",format=qcow2,if=virtio,node-name=src",
                "-guest", guest);
        MigrationRig.addRemote(s, at, "");
        Thread.sleep(500); // the guest is writing before the job starts
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\", "
                + "\"copy-mode\": \"" + copyMode + "\"");
        MigrationRig.awaitReady(s, since);
        MigrationRig.finish(s, "block-job-complete");   // with the guest still writing
        String block = s.ok("query-block", "");
        assertTrue(block.contains("\"node-name\": \"remote\""), block);
        Thread.sleep(1000); // the guest writes and verifies on the remote disk
        MigrationRig.assertGuestVerified(s.quit());
        d.ok("nbd-server-stop", "");
        d.quit();
        MigrationRig.assertClean(dst);
    }

    @Test
    void backgroundMirrorConvergesUnderAGuestWriting5000Iops() throws Exception {
        convergesAndPivots("drive=virtio0,rw=randwrite,verify=on,bs=4k,iodepth=8,rate_iops=5000,seed=5", "background");
    }

    @Test
    void writeBlockingMirrorConvergesUnderAGuestWritingFlatOut() throws Exception {
        convergesAndPivots("drive=virtio0,rw=randwrite,verify=on,bs=4k,iodepth=8,seed=6", "write-blocking");
    }
}
