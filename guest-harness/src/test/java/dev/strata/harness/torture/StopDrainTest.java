package dev.strata.harness.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.WriteNotifier;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code stop} drains, as QEMU's {@code vm_stop}: once it returns, nothing more from the guest
 * reaches the disk until {@code cont}, however hard the guest writes. The second test is libvirt's
 * migration ending: pause the guest, cancel the READY mirror, and the copy holds everything the
 * guest was told is written (before the fix, the source kept taking writes after {@code stop}, so
 * the copy and the source differed), with the copy in a local qcow2 and on a {@code qemu-nbd}
 * export; both are compared again after {@code quit}, which must not write either. The guest's disk
 * is slow and it has more requests than the queue has slots, so requests are always in flight or
 * waiting when {@code stop} comes: before the fix every test here failed in 4 runs of 4.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StopDrainTest {

    private static final String FLAT_OUT = "drive=virtio0,rw=randwrite,bs=4k,iodepth=128,verify=on,size=16M,seed=5";
    private static final long SLOW_WRITE_MS = 100;
    private static final Pattern WR_OPS = Pattern.compile("\"wr_operations\"\\s*:\\s*(\\d+)");

    @TempDir
    Path dir;

    @BeforeEach
    void needsQemu() {
        Assumptions.assumeTrue(Tools.qemuAvailable(), "STOP DRAIN TESTS SKIPPED: qemu-img (qemu-utils) is not installed");
    }

    /**
     * A flat-out guest on a slow disk: every guest write spends {@link #SLOW_WRITE_MS} in the block
     * layer, so there are always requests in flight when {@code stop} comes (before the fix they
     * landed after stop had returned, deterministically rather than only on a loaded machine).
     */
    private FaultRig flatOutMachine(String guest) throws Exception {
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "src.qcow2", "64M");
        FaultRig rig = new FaultRig(dir, "-drive", "file=" + dir.resolve("src.qcow2") + ",format=qcow2,if=virtio", "-guest", guest);
        rig.machine.graph().lookup("virtio0").addWriteNotifier(new WriteNotifier() {
            @Override
            public void beforeWrite(BlockNode node, long offset, long bytes) {
                try {
                    Thread.sleep(SLOW_WRITE_MS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        return rig;
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

    /** The device's {@code wr_operations} in {@code query-blockstats} (not its nodes' in parent/backing). */
    private static long wrOperations(FaultRig rig) throws Exception {
        String r = withoutMember(withoutMember(rig.call("{\"execute\": \"query-blockstats\"}"), "parent"), "backing");
        Matcher m = WR_OPS.matcher(r);
        assertTrue(m.find(), r);
        return Long.parseLong(m.group(1));
    }

    /** {@code json} without the object member {@code name} (balanced braces; no strings hold braces here). */
    private static String withoutMember(String json, String name) {
        int at = json.indexOf("\"" + name + "\"");
        if (at < 0) {
            return json;
        }
        int i = json.indexOf('{', at);
        int depth = 0;
        do {
            char c = json.charAt(i++);
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
        } while (depth > 0);
        return withoutMember(json.substring(0, at) + json.substring(i), name);
    }

    private static long wrOperationsUnchecked(FaultRig rig) {
        try {
            return wrOperations(rig);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private long checksum(String file) throws IOException {
        CRC32 crc = new CRC32();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(dir.resolve(file))) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return crc.getValue();
    }

    @Test
    void afterStopReturnsNothingReachesTheDiskUntilCont() throws Exception {
        FaultRig rig = flatOutMachine(FLAT_OUT);
        try {
            awaitGuestWrites(rig, 500);
            ok(rig, "{\"execute\": \"stop\"}");
            assertEquals("paused", rig.status());
            long ops = wrOperations(rig);
            assertTrue(ops > 0, "the device counted the guest's writes");
            long sum = checksum("src.qcow2");
            Thread.sleep(300); // not a timing assertion: time for a late write to show, were there one
            assertEquals(ops, wrOperations(rig), "the device completed writes after stop returned");
            assertEquals(sum, checksum("src.qcow2"), "the image changed after stop returned");
            ok(rig, "{\"execute\": \"cont\"}");
            FaultRig.await("writes after cont", () -> wrOperationsUnchecked(rig) > ops + 100);
        } finally {
            rig.close();
        }
        assertTrue(!rig.machine.verifyFailed(), rig.out.toString());
    }

    @Test
    void migrationEndingStopThenCancelReadyMirrorLeavesAnIdenticalCopy() throws Exception {
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "dst.qcow2", "64M");
        FaultRig rig = flatOutMachine(FLAT_OUT);
        try {
            mirrorStopCancel(rig, dir.resolve("dst.qcow2").toString(), "qcow2");
            Thread.sleep(5 * SLOW_WRITE_MS); // not a timing assertion: a straggling write would have landed by now
            // still paused: the source has been flushed by stop; -U because the machine holds the image
            String cmp = Tools.run(dir, "qemu-img", "compare", "-U", "src.qcow2", "dst.qcow2").output();
            assertTrue(cmp.contains("Images are identical"), "source and copy differ after stop + cancel: " + cmp);
        } finally {
            rig.close();
        }
        assertIdenticalAfterQuit(rig);
    }

    /** The same ending with the copy on a {@code qemu-nbd} export, as a migration's destination is. */
    @Test
    void migrationEndingOntoAnNbdDestinationLeavesAnIdenticalCopy() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")), "qemu-nbd is not installed");
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "dst.qcow2", "64M");
        Path sock = dir.resolve("dst.sock");
        Process nbd = new ProcessBuilder("qemu-nbd", "-t", "-x", "dst", "-f", "qcow2", "-k", sock.toString(),
                dir.resolve("dst.qcow2").toString()).redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        try {
            FaultRig.await("qemu-nbd's socket", () -> Files.exists(sock));
            FaultRig rig = flatOutMachine(FLAT_OUT);
            try {
                mirrorStopCancel(rig, "nbd+unix:///dst?socket=" + sock, "raw");
            } finally {
                rig.close();
            }
            nbd.destroy();
            assertTrue(nbd.waitFor(30, TimeUnit.SECONDS));
            assertIdenticalAfterQuit(rig);
        } finally {
            nbd.destroyForcibly();
        }
    }

    /** Mirror to READY under the flat-out guest, then libvirt's ending: {@code stop}, soft cancel, COMPLETED. */
    private static void mirrorStopCancel(FaultRig rig, String target, String format) throws Exception {
        awaitGuestWrites(rig, 500);
        ok(rig, "{\"execute\": \"drive-mirror\", \"arguments\": {\"device\": \"virtio0\", \"target\": \""
                + target + "\", \"format\": \"" + format + "\", \"mode\": \"existing\", \"sync\": \"full\"}}");
        FaultRig.await("BLOCK_JOB_READY", () -> rig.event("BLOCK_JOB_READY") != null);
        awaitGuestWrites(rig, 500); // written while READY, the guest still flat out
        ok(rig, "{\"execute\": \"stop\"}");
        ok(rig, "{\"execute\": \"block-job-cancel\", \"arguments\": {\"device\": \"virtio0\"}}");
        FaultRig.await("BLOCK_JOB_COMPLETED", () -> rig.event("BLOCK_JOB_COMPLETED") != null);
        String done = rig.event("BLOCK_JOB_COMPLETED");
        assertTrue(!done.contains("\"error\""), done);
        assertEquals("paused", rig.status());
    }

    /**
     * After quit on the paused machine: the guest's final verification only read (the writes it had
     * waiting while paused were dropped), so the source still equals the copy, and the guest's data
     * verified.
     */
    private void assertIdenticalAfterQuit(FaultRig rig) throws Exception {
        String after = Tools.run(dir, "qemu-img", "compare", "src.qcow2", "dst.qcow2").output();
        assertTrue(after.contains("Images are identical"), "the source and the copy differ after quit: " + after);
        assertTrue(rig.out.toString().contains("OK, no failures"), rig.out.toString());
    }
}
