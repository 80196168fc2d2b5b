package dev.strata.monitor.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.Oracle;
import dev.strata.monitor.TestMachine;
import dev.strata.monitor.hmp.HmpInterpreter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** snapshot_blkdev / blockdev-snapshot-sync: the switch under guest writes, errors, and qemu-img check of the chain. */
@Timeout(180)
class SnapshotTest {

    static final int BLOCK = 4096;
    static final int BLOCKS = 2048; // 8 MiB of a 64 MiB disk

    @TempDir
    Path dir;
    TestMachine machine;
    HmpInterpreter hmp;
    String t;

    @BeforeEach
    void setUp() throws Exception {
        Oracle.requireQemuImg();
        t = dir.toString();
        Oracle.run("qemu-img", "create", "-q", "-f", "qcow2", dir.resolve("C.qcow2").toString(), "64M");
        machine = new TestMachine(dir);
        machine.addDrive("virtio0", dir.resolve("C.qcow2"), null);
        hmp = machine.monitor().hmp();
    }

    @AfterEach
    void tearDown() {
        machine.graph().closeAll();
    }

    private static ByteBuffer stamp(int block, long gen) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        while (b.hasRemaining()) {
            b.putLong(((long) block << 40) | gen);
        }
        return b.flip();
    }

    @Test
    void snapshotWhileTheGuestWritesKeepsEveryWrite() throws Exception {
        BlockBackend disk = machine.graph().backend("virtio0");
        ConcurrentHashMap<Integer, Long> shadow = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int lane = w;
            writers.add(Thread.ofVirtual().start(() -> {
                long gen = 1;
                while (!stop.get()) {
                    // each writer owns its own blocks, so the last completed write is what the disk must hold
                    int block = ThreadLocalRandom.current().nextInt(BLOCKS / 4) * 4 + lane;
                    disk.write((long) block * BLOCK, stamp(block, gen));
                    shadow.put(block, gen++);
                }
            }));
        }
        Thread.sleep(200);
        assertEquals("", hmp.executeNow("snapshot_blkdev virtio0 " + t + "/D.qcow2 qcow2"));
        Thread.sleep(200);
        assertEquals("", hmp.executeNow("snapshot_blkdev virtio0 " + t + "/E.qcow2"));
        Thread.sleep(200);
        stop.set(true);
        for (Thread th : writers) {
            th.join();
        }
        String info = hmp.executeNow("info block").replaceAll("#block\\d+", "#blockN");
        assertEquals("virtio0 (#blockN): " + t + "/E.qcow2 (qcow2)\n"
                + "    Attached to:      /machine/peripheral-anon/device[0]/virtio-backend\n"
                + "    Cache mode:       writeback\n"
                + "    Backing file:     " + t + "/D.qcow2 (chain depth: 2)\n", info);
        for (var e : shadow.entrySet()) {
            ByteBuffer got = ByteBuffer.allocate(BLOCK);
            disk.read((long) e.getKey() * BLOCK, got);
            assertArrayEquals(stamp(e.getKey(), e.getValue()).array(), got.array(), "block " + e.getKey());
        }
        assertTrue(shadow.size() > 10, "the workload wrote");
        disk.flush();
        machine.graph().closeAll();
        for (String f : new String[] {"C.qcow2", "D.qcow2", "E.qcow2"}) {
            String check = Oracle.run("qemu-img", "check", dir.resolve(f).toString());
            assertTrue(check.contains("No errors were found on the image."), f + ": " + check);
        }
        String dInfo = Oracle.run("qemu-img", "info", "-U", dir.resolve("E.qcow2").toString());
        assertTrue(dInfo.contains("backing file: " + t + "/D.qcow2\n"), "absolute backing path: " + dInfo);
        assertTrue(dInfo.contains("backing file format: qcow2\n"), dInfo);
        // the whole chain, read by QEMU, holds what the shadow map says
        Path flat = dir.resolve("flat.raw");
        Oracle.run("qemu-img", "convert", "-O", "raw", dir.resolve("E.qcow2").toString(), flat.toString());
        byte[] all = Files.readAllBytes(flat);
        for (var e : shadow.entrySet()) {
            byte[] one = java.util.Arrays.copyOfRange(all, e.getKey() * BLOCK, e.getKey() * BLOCK + BLOCK);
            assertArrayEquals(stamp(e.getKey(), e.getValue()).array(), one, "qemu reads block " + e.getKey());
        }
    }

    @Test
    void errorsAreQemus() throws Exception {
        assertEquals("", hmp.executeNow("snapshot_blkdev virtio0 " + t + "/D.qcow2 qcow2"));
        assertEquals("Error: Could not open '" + t + "/nosuch.qcow2': No such file or directory\n",
                hmp.executeNow("snapshot_blkdev -n virtio0 " + t + "/nosuch.qcow2"));
        assertEquals("Error: Backing file not supported for file format 'raw'\n", hmp.executeNow("snapshot_blkdev virtio0 " + t + "/F.raw raw"));
        assertEquals("Error: Unknown file format 'nosuchfmt'\n", hmp.executeNow("snapshot_blkdev virtio0 " + t + "/G.qcow2 nosuchfmt"));
        // D is the active image: QEMU compares the names before it tries the file (issue 14)
        assertEquals("Error: Error: Trying to create an image with the same filename as the backing file\n",
                hmp.executeNow("snapshot_blkdev virtio0 " + t + "/D.qcow2"));
        assertEquals("Error: Parameter 'snapshot-file' is missing\n", hmp.executeNow("snapshot_blkdev virtio0"));
        assertEquals("Error: Cannot find device='nosuch' nor node-name=''\n", hmp.executeNow("snapshot_blkdev nosuch " + t + "/x.qcow2"));
        assertEquals("snapshot_blkdev: block device name expected\nTry \"help snapshot_blkdev\" for more information\n",
                hmp.executeNow("snapshot_blkdev"));
        machine.graph().backend("virtio0").root().setBlocker("block device is in use by block job: stream");
        assertEquals("Error: Node 'virtio0' is busy: block device is in use by block job: stream\n",
                hmp.executeNow("snapshot_blkdev virtio0 " + t + "/S.qcow2 qcow2"));
        assertTrue(!Files.exists(dir.resolve("S.qcow2")), "a refused snapshot creates nothing");
        machine.graph().backend("virtio0").root().setBlocker(null);
        // D below the active image: now the image lock answers (the reference's session)
        assertEquals("", hmp.executeNow("snapshot_blkdev virtio0 " + t + "/E2.qcow2"));
        assertEquals("Error: Failed to get \"write\" lock\nIs another process using the image [" + t + "/D.qcow2]?\n",
                hmp.executeNow("snapshot_blkdev virtio0 " + t + "/D.qcow2"));
        // -n reuses an existing image: it is opened on top of the current one
        Oracle.run("qemu-img", "create", "-q", "-f", "qcow2", dir.resolve("R.qcow2").toString(), "64M");
        assertEquals("", hmp.executeNow("snapshot_blkdev -n virtio0 " + t + "/R.qcow2"));
        assertTrue(hmp.executeNow("info block virtio0").contains(t + "/R.qcow2 (qcow2)\n"));
        assertTrue(hmp.executeNow("info block virtio0").contains("Backing file:     " + t + "/E2.qcow2 (chain depth: 3)"));
    }
}
