package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 17 item 3: a disk moves between two hosts (network namespaces, 1 Gbit/s, 5 ms each way)
 * over NBD while it is written: destination {@code nbd-server-start} + writable export of a blank
 * image, source mirror onto it, READY, then libvirt's ending ({@code block-job-cancel}: the
 * source keeps its disk, the destination is identical) or a pivot ({@code block-job-complete}:
 * the guest goes on verifying on the remote disk). Strata and QEMU 7.2 on either side.
 */
@Timeout(240)
class MigrationFlowTest extends TwoHostTest {

    @Test
    void strataToStrataCancelAtReadyLeavesAnIdenticalCopy() throws Exception {
        Path src = rig.image("src.qcow2", true);
        Path dst = rig.image("dst.qcow2", false);
        MachineProcess d = rig.strata(link.destination(), "dst", MigrationRig.destinationDisk(dst));
        HostPort at = rig.serve(d, "");
        MachineProcess s = rig.strataSource(src);
        int since = s.eventCount();
        s.ok("drive-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"nbd://" + at + "/disk\", "
                + "\"format\": \"raw\", \"mode\": \"existing\", \"sync\": \"full\"");
        MigrationRig.awaitReady(s, since);
        Thread.sleep(500); // the guest writes while the job is READY
        s.ok("stop", "");
        MigrationRig.finish(s, "block-job-cancel");
        rig.assertSameOverNbd(src, at);
        d.ok("nbd-server-stop", "");
        d.quit();
        // the destination's file, written out at its quit, is the source as it was at the cancel
        MigrationRig.assertSame(src, dst);
        MigrationRig.assertGuestVerified(s.quit());
        MigrationRig.assertClean(src);
        MigrationRig.assertClean(dst);
    }

    @Test
    void strataToStrataPivotTheGuestGoesOnOnTheRemoteDisk() throws Exception {
        Path src = rig.image("src.qcow2", true);
        Path dst = rig.image("dst.qcow2", false);
        MachineProcess d = rig.strata(link.destination(), "dst", MigrationRig.destinationDisk(dst));
        HostPort at = rig.serve(d, "");
        MachineProcess s = rig.strataSource(src);
        pivot(s, src, at);
        d.ok("nbd-server-stop", "");
        d.quit();
        MigrationRig.assertClean(dst);
        MigrationRig.assertClean(src);
    }

    @Test
    void strataToQemuPivot() throws Exception {
        Path src = rig.image("src.qcow2", true);
        Path dst = rig.image("dst.qcow2", false);
        MachineProcess d = rig.qemu(link.destination(), "dst", MigrationRig.destinationDisk(dst));
        HostPort at = rig.serve(d, "");
        MachineProcess s = rig.strataSource(src);
        pivot(s, src, at);
        d.ok("nbd-server-stop", "");
        d.quit();
        MigrationRig.assertClean(dst);
    }

    @Test
    void qemuToStrataCancelAtReady() throws Exception {
        Path src = rig.image("src.qcow2", true);
        Path dst = rig.image("dst.qcow2", false);
        MachineProcess d = rig.strata(link.destination(), "dst", MigrationRig.destinationDisk(dst));
        HostPort at = rig.serve(d, "");
        MachineProcess s = rig.qemuSource(src);
        MigrationRig.addRemote(s, at, "");
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"src\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\"");
        qemuIo(s, "write -P 0x33 1M 64k"); // during the copy
        MigrationRig.awaitReady(s, since);
        qemuIo(s, "write -P 0x44 20M 192k"); // at READY: mirrored as it happens
        MigrationRig.finish(s, "block-job-cancel");
        rig.assertSameOverNbd(src, at);
        s.quit();
        d.ok("nbd-server-stop", "");
        d.quit();
        MigrationRig.assertSameAndClean(src, dst);
    }

    @Test
    void qemuToStrataPivot() throws Exception {
        Path src = rig.image("src.qcow2", true);
        Path dst = rig.image("dst.qcow2", false);
        MachineProcess d = rig.strata(link.destination(), "dst", MigrationRig.destinationDisk(dst));
        HostPort at = rig.serve(d, "");
        MachineProcess s = rig.qemuSource(src);
        MigrationRig.addRemote(s, at, "");
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"src\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\"");
        MigrationRig.awaitReady(s, since);
        MigrationRig.finish(s, "block-job-complete");
        rig.assertSameOverNbd(src, at);
        qemuIo(s, "write -P 0x55 5M 128k"); // now on the remote disk
        s.quit();
        d.ok("nbd-server-stop", "");
        d.quit();
        MigrationRig.assertClean(dst);
        String out = MigrationRig.must("qemu-io", "-f", "qcow2", "-c", "read -P 0x55 5M 128k", dst.toString());
        assertTrue(out.contains("read 131072/131072"), out);
    }

    /** Mirror with blockdev-add + blockdev-mirror, READY, pause, complete, compare, resume, verify at quit. */
    static void pivot(MachineProcess s, Path src, HostPort at) throws Exception {
        MigrationRig.addRemote(s, at, "");
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\"");
        MigrationRig.awaitReady(s, since);
        Thread.sleep(500);
        s.ok("stop", "");
        MigrationRig.finish(s, "block-job-complete");
        String block = s.ok("query-block", "");
        assertTrue(block.contains("\"node-name\": \"remote\""), block);
        s.ok("cont", "");
        Thread.sleep(1500); // the guest writes and verifies on the remote disk
        MigrationRig.assertGuestVerified(s.quit());
    }

    private static void qemuIo(MachineProcess s, String cmd) throws Exception {
        String r = s.ok("human-monitor-command", "\"command-line\": \"qemu-io drv0 \\\"" + cmd + "\\\"\"");
        assertTrue(!r.contains("error") && !r.contains("failed"), r);
    }
}
