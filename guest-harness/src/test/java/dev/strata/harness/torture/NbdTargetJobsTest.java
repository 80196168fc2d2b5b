package dev.strata.harness.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.nbd.NbdExport;
import dev.strata.blockdrv.nbd.NbdListenAddress;
import dev.strata.blockdrv.nbd.NbdServer;
import dev.strata.blockdrv.nbd.NbdServerOptions;
import dev.strata.harness.guest.VerifyReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17 item 2, jobs onto NBD, through whole machines with a verifying guest: the destination
 * is a blank qcow2 exported by {@code qemu-nbd} (or by Strata's server) on a unix socket. Mirror
 * ({@code drive-mirror mode=existing} by URI, {@code blockdev-mirror} onto a {@code blockdev-add}ed
 * nbd node, HMP {@code drive_mirror -n} with QEMU's legacy {@code nbd:unix:} form), both copy modes,
 * {@code sync=full} and {@code sync=top}; backup ({@code drive-backup}, {@code blockdev-backup}).
 * Each ends with {@code qemu-img compare} and {@code qemu-img check}, or, after a pivot, with the
 * guest verifying the remote disk; the guest reports 0 lost, torn or stale blocks throughout.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NbdTargetJobsTest {

    private static final String SIZE = "64M";
    private static final String GUEST = "drive=virtio0,rw=randrw,bs=4k,iodepth=4,verify=on,size=16M";

    @TempDir
    Path dir;
    private Process qemuNbd;
    private NbdServer strataServer;
    private BlockGraph serverGraph;

    @BeforeEach
    void needsQemu() {
        Assumptions.assumeTrue(Tools.qemuAvailable() && Files.isExecutable(Path.of("/usr/bin/qemu-nbd")),
                "NBD JOB TESTS SKIPPED: qemu-img/qemu-io/qemu-nbd (qemu-utils) are not installed");
    }

    @AfterEach
    void stopServers() throws Exception {
        stopQemuNbd();
        if (strataServer != null) {
            strataServer.stop();
            serverGraph.closeAll();
        }
    }

    /** A blank qcow2 {@code name} (optionally over {@code backing}) exported as "dst" on {@code dst.sock}. */
    private Path serveBlank(String name, String backing) throws Exception {
        if (backing == null) {
            Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", name, SIZE);
        } else {
            Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", name);
        }
        Path sock = dir.resolve("dst.sock");
        qemuNbd = new ProcessBuilder("qemu-nbd", "-t", "-x", "dst", "-f", "qcow2", "-k", sock.toString(), dir.resolve(name).toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        for (int i = 0; i < 400 && !Files.exists(sock); i++) {
            Thread.sleep(25);
        }
        assertTrue(Files.exists(sock), "qemu-nbd did not listen: " + Files.readString(dir.resolve("qemu-nbd.log")));
        return sock;
    }

    private void stopQemuNbd() throws InterruptedException {
        if (qemuNbd != null) {
            qemuNbd.destroy();
            assertTrue(qemuNbd.waitFor(30, TimeUnit.SECONDS));
            qemuNbd = null;
        }
    }

    /** A machine on a 64 MiB qcow2 with 8 MiB of data written before it starts, and a verifying guest when asked. */
    private FaultRig machine(boolean guest) throws Exception {
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "src.qcow2", SIZE);
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 20M 4M", "-c", "write -q -P 0x6b 50M 4M", "src.qcow2");
        String drive = "file=" + dir.resolve("src.qcow2") + ",format=qcow2,if=virtio";
        return guest ? new FaultRig(dir, "-drive", drive, "-guest", GUEST) : new FaultRig(dir, "-drive", drive);
    }

    private static void ok(FaultRig rig, String json) throws Exception {
        String r = rig.call(json);
        assertTrue(r.startsWith("{\"return\""), json + " -> " + r);
    }

    private static long guestWrites(FaultRig rig) {
        return rig.machine.guest().workloads().stream().mapToLong(w -> w.result().writes()).sum();
    }

    private static void awaitGuestWrites(FaultRig rig, long more) throws InterruptedException {
        long before = guestWrites(rig);
        FaultRig.await(more + " more guest writes", () -> guestWrites(rig) >= before + more);
    }

    /** Stops the guest's workload and has it verify every block it wrote: 0 lost, torn or stale. */
    private static void assertGuestIntact(FaultRig rig) throws Exception {
        assertTrue(rig.machine.guest().stopWorkloads(Duration.ofSeconds(30)));
        assertEquals(0, rig.machine.guest().workloads().stream().mapToLong(w -> w.result().errors()).sum(), "guest I/O errors");
        List<VerifyReport> reports = rig.machine.guest().verifyAll();
        assertEquals(1, reports.size());
        assertTrue(reports.get(0).ok(), reports.get(0).describe());
        assertEquals(0, reports.get(0).failureCount());
    }

    private static void awaitEvent(FaultRig rig, String name) throws InterruptedException {
        FaultRig.await(name, () -> rig.event(name) != null);
    }

    /** READY with the guest writing, the guest verified and stopped, then {@code block-job-cancel}: the job ends without pivot. */
    private static void readyThenCancel(FaultRig rig, String sourceFile) throws Exception {
        awaitEvent(rig, "BLOCK_JOB_READY");
        awaitGuestWrites(rig, 200);   // written while READY: carried to the target by the running job
        assertGuestIntact(rig);
        ok(rig, "{\"execute\": \"block-job-cancel\", \"arguments\": {\"device\": \"virtio0\"}}");
        awaitEvent(rig, "BLOCK_JOB_COMPLETED");
        String done = rig.event("BLOCK_JOB_COMPLETED");
        assertTrue(!done.contains("\"error\""), done);
        assertTrue(rig.call("{\"execute\": \"query-block\"}").contains(sourceFile), "the source keeps its disk after cancel");
    }

    /** Stops the server (the machine is closed), then compares and checks the images. */
    private void assertIdentical(String source, String dst) throws Exception {
        stopQemuNbd();
        String cmp = Tools.run(dir, "qemu-img", "compare", source, dst).output();
        assertTrue(cmp.contains("Images are identical"), cmp);
        Tools.must(dir, "qemu-img", "check", dst);
    }

    @Test
    void driveMirrorModeExistingWriteBlockingByUriThenCancel() throws Exception {
        Path sock = serveBlank("dst.qcow2", null);
        FaultRig rig = machine(true);
        try {
            awaitGuestWrites(rig, 200);
            ok(rig, "{\"execute\": \"drive-mirror\", \"arguments\": {\"device\": \"virtio0\", \"target\": \"nbd+unix:///dst?socket="
                    + sock + "\", \"format\": \"raw\", \"mode\": \"existing\", \"sync\": \"full\", \"copy-mode\": \"write-blocking\"}}");
            readyThenCancel(rig, "src.qcow2");
        } finally {
            rig.close();
        }
        assertIdentical("src.qcow2", "dst.qcow2");
    }

    @Test
    void backgroundMirrorUnderAFlatOutGuestConvergesAndCancelLeavesAnIdenticalCopy() throws Exception {
        Path sock = serveBlank("dst.qcow2", null);
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "src.qcow2", SIZE);
        FaultRig rig = new FaultRig(dir, "-drive", "file=" + dir.resolve("src.qcow2") + ",format=qcow2,if=virtio",
                "-guest", "drive=virtio0,rw=randwrite,bs=4k,iodepth=8,seed=9");
        try {
            awaitGuestWrites(rig, 2000);
            ok(rig, "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"nbd\", \"node-name\": \"remote\", \"export\": \"dst\", "
                    + "\"server\": {\"type\": \"unix\", \"path\": \"" + sock + "\"}}}");
            ok(rig, "{\"execute\": \"blockdev-mirror\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"virtio0\", "
                    + "\"target\": \"remote\", \"sync\": \"full\"}}");
            awaitEvent(rig, "BLOCK_JOB_READY");
            awaitGuestWrites(rig, 2000);
            // the guest's workload stops (its last requests complete), then the soft cancel syncs the rest
            assertTrue(rig.machine.guest().stopWorkloads(Duration.ofSeconds(30)));
            ok(rig, "{\"execute\": \"block-job-cancel\", \"arguments\": {\"device\": \"virtio0\"}}");
            awaitEvent(rig, "BLOCK_JOB_COMPLETED");
        } finally {
            rig.close();
        }
        assertIdentical("src.qcow2", "dst.qcow2");
    }

    @Test
    void blockdevMirrorSyncTopOntoAnNbdNodeOverACopyOfTheBase() throws Exception {
        // the source is top over base; the destination already has a copy of base (libvirt's shallow copy)
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", SIZE);
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x11 0 8M", "-c", "write -q -P 0x22 40M 2M", "base.qcow2");
        Files.copy(dir.resolve("base.qcow2"), dir.resolve("base-copy.qcow2"));
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2");
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x33 4M 1M", "top.qcow2");
        Path sock = serveBlank("dst.qcow2", "base-copy.qcow2");
        FaultRig rig = new FaultRig(dir, "-drive", "file=" + dir.resolve("top.qcow2") + ",format=qcow2,if=virtio", "-guest", GUEST);
        try {
            awaitGuestWrites(rig, 200);
            ok(rig, "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"nbd\", \"node-name\": \"remote\", \"export\": \"dst\", "
                    + "\"server\": {\"type\": \"unix\", \"path\": \"" + sock + "\"}}}");
            ok(rig, "{\"execute\": \"blockdev-mirror\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"virtio0\", "
                    + "\"target\": \"remote\", \"sync\": \"top\", \"copy-mode\": \"background\"}}");
            readyThenCancel(rig, "top.qcow2");
        } finally {
            rig.close();
        }
        stopQemuNbd();
        String cmp = Tools.run(dir, "qemu-img", "compare", "top.qcow2", "dst.qcow2").output();
        assertTrue(cmp.contains("Images are identical"), cmp);
        Tools.must(dir, "qemu-img", "check", "dst.qcow2");
        // sync=top copied only the top layer's data: the destination's own layer holds no base-only range
        String map = Tools.must(dir, "qemu-img", "map", "--output=json", "dst.qcow2");
        assertTrue(map.contains("\"start\": 41943040, \"length\": 2097152, \"depth\": 1"), map);
    }

    @Test
    void hmpDriveMirrorNWithTheLegacyNbdFormThenCompletePivotsTheGuestOntoTheRemoteDisk() throws Exception {
        Path sock = serveBlank("dst.qcow2", null);
        FaultRig rig = machine(true);
        try {
            awaitGuestWrites(rig, 200);
            String out = rig.call("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
                    + "\"drive_mirror -n -f virtio0 nbd:unix:" + sock + ":exportname=dst raw\"}}");
            assertEquals("{\"return\": \"\"}", out);
            awaitEvent(rig, "BLOCK_JOB_READY");
            awaitGuestWrites(rig, 200);
            ok(rig, "{\"execute\": \"block-job-complete\", \"arguments\": {\"device\": \"virtio0\"}}");
            awaitEvent(rig, "BLOCK_JOB_COMPLETED");
            String block = rig.call("{\"execute\": \"query-block\"}");
            assertTrue(block.contains("nbd") && !block.contains("src.qcow2"), block);
            // the guest now runs on the remote disk and keeps verifying what it reads back there
            awaitGuestWrites(rig, 300);
            assertGuestIntact(rig);
        } finally {
            rig.close();
        }
        stopQemuNbd();
        Tools.must(dir, "qemu-img", "check", "dst.qcow2");
    }

    @Test
    void blockdevMirrorOntoAStrataExportThenCompletePivots() throws Exception {
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "dst.qcow2", SIZE);
        serverGraph = new BlockGraph();
        BlockNode n = serverGraph.open(BlockOptions.parse("file=" + dir.resolve("dst.qcow2") + ",format=qcow2", null));
        BlockBackend be = serverGraph.createBackend("exp", n, BlockBackend.CacheMode.WRITEBACK);
        Path sock = dir.resolve("strata.sock");
        strataServer = NbdServer.start(NbdListenAddress.unix(sock), NbdServerOptions.plain());
        strataServer.addExport(NbdExport.builder("dst", be).writable(true).build());
        FaultRig rig = machine(true);
        try {
            awaitGuestWrites(rig, 200);
            ok(rig, "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"nbd\", \"node-name\": \"remote\", \"export\": \"dst\", "
                    + "\"server\": {\"type\": \"unix\", \"path\": \"" + sock + "\"}}}");
            ok(rig, "{\"execute\": \"blockdev-mirror\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"m\", "
                    + "\"target\": \"remote\", \"sync\": \"full\", \"copy-mode\": \"write-blocking\"}}");
            awaitEvent(rig, "BLOCK_JOB_READY");
            ok(rig, "{\"execute\": \"block-job-complete\", \"arguments\": {\"device\": \"m\"}}");
            awaitEvent(rig, "BLOCK_JOB_COMPLETED");
            awaitGuestWrites(rig, 300);
            assertGuestIntact(rig);
        } finally {
            rig.close();
        }
        strataServer.stop();
        strataServer = null;
        serverGraph.closeAll();
        Tools.must(dir, "qemu-img", "check", "dst.qcow2");
    }

    @Test
    void driveBackupModeExistingOntoAnNbdUri() throws Exception {
        Path sock = serveBlank("dst.qcow2", null);
        FaultRig rig = machine(false);
        try {
            ok(rig, "{\"execute\": \"drive-backup\", \"arguments\": {\"device\": \"virtio0\", \"target\": \"nbd+unix:///dst?socket="
                    + sock + "\", \"format\": \"raw\", \"mode\": \"existing\", \"sync\": \"full\"}}");
            awaitEvent(rig, "BLOCK_JOB_COMPLETED");
            assertTrue(!rig.event("BLOCK_JOB_COMPLETED").contains("\"error\""), rig.event("BLOCK_JOB_COMPLETED"));
        } finally {
            rig.close();
        }
        assertIdentical("src.qcow2", "dst.qcow2");
    }

    @Test
    void blockdevBackupOntoAnNbdNode() throws Exception {
        Path sock = serveBlank("dst.qcow2", null);
        FaultRig rig = machine(false);
        try {
            ok(rig, "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"nbd\", \"node-name\": \"remote\", \"export\": \"dst\", "
                    + "\"server\": {\"type\": \"unix\", \"path\": \"" + sock + "\"}}}");
            ok(rig, "{\"execute\": \"blockdev-backup\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"b\", "
                    + "\"target\": \"remote\", \"sync\": \"full\"}}");
            awaitEvent(rig, "BLOCK_JOB_COMPLETED");
            assertTrue(!rig.event("BLOCK_JOB_COMPLETED").contains("\"error\""), rig.event("BLOCK_JOB_COMPLETED"));
        } finally {
            rig.close();
        }
        assertIdentical("src.qcow2", "dst.qcow2");
    }
}
