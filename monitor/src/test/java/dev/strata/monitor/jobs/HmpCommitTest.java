package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.Oracle;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HMP {@code commit} as QEMU 7.2 does it: the active image's data goes into its backing file and
 * the active image is emptied, the chain stays, no job and no events. QEMU's tools judge the files.
 */
@Timeout(180)
class HmpCommitTest {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        Oracle.requireQemuImg();
        machine = new TestMachine(dir);
        // A (1st MiB 0xaa) <- B (2nd MiB 0xbb) <- C (3rd MiB 0xcc), as in qemu-interface §1.5
        String[] names = {"A.qcow2", "B.qcow2", "C.qcow2"};
        for (int i = 0; i < names.length; i++) {
            BlockOptions o = BlockOptions.empty();
            if (i > 0) {
                o = o.with("backing_file", names[i - 1]).with("backing_fmt", "qcow2");
            }
            DriverRegistry.standard().require("qcow2").create(dir.resolve(names[i]), SIZE, o);
            BlockGraph g = new BlockGraph();
            BlockNode n = g.open(BlockOptions.empty().with("file", dir.resolve(names[i]).toString()));
            byte[] data = new byte[1 << 20];
            Arrays.fill(data, (byte) (0xaa + 0x11 * i));
            n.write((long) i << 20, ByteBuffer.wrap(data));
            n.flush();
            g.closeAll();
        }
        DriverRegistry.standard().require("qcow2").create(dir.resolve("lone.qcow2"), SIZE, BlockOptions.empty());
        machine.addDrive("virtio0", dir.resolve("C.qcow2"), null);
        machine.addDrive("virtio1", dir.resolve("lone.qcow2"), null);
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name()));
    }

    @AfterEach
    void tearDown() {
        machine.graph().closeAll();
    }

    private String hmp(String line) {
        return monitor.hmp().executeNow(line);
    }

    private byte[] readAll(String device) {
        ByteBuffer b = ByteBuffer.allocate((int) SIZE);
        machine.graph().backend(device).read(0, b);
        return b.array();
    }

    private String path(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void commitCopiesIntoTheBackingFileAndEmptiesTheTop() throws Exception {
        assertEquals("2 MiB (0x200000) bytes not allocated at offset 0 bytes (0x0)\n"
                + "1 MiB (0x100000) bytes     allocated at offset 2 MiB (0x200000)\n"
                + "61 MiB (0x3d00000) bytes not allocated at offset 3 MiB (0x300000)\n",
                Oracle.run("qemu-io", "-r", "-U", "-c", "map", path("C.qcow2")));
        byte[] before = readAll("virtio0");
        assertEquals("", hmp("commit virtio0"));
        assertArrayEquals(before, readAll("virtio0"), "the guest sees the same disk");
        assertEquals("No active jobs\n", hmp("info block-jobs"));
        BlockBackend b = machine.graph().backend("virtio0");
        assertEquals(path("C.qcow2"), b.root().filename());
        assertEquals(2, b.root().chainDepth(), "chain unchanged");
        // the device still works on the emptied top; the next commit copies the whole cluster written
        // (4 KiB of data plus what the copy-on-write brought up), as QEMU's does
        byte[] data = new byte[4096];
        Arrays.fill(data, (byte) 0xdd);
        b.write(5L << 20, ByteBuffer.wrap(data));
        b.flush();
        assertEquals("", hmp("commit all"), "commit all skips drives without a backing file silently");
        assertTrue(events.isEmpty(), "no events: " + events);
        machine.graph().closeAll();

        assertEquals("64 MiB (0x4000000) bytes not allocated at offset 0 bytes (0x0)\n",
                Oracle.run("qemu-io", "-r", "-c", "map", path("C.qcow2")));
        assertEquals("1 MiB (0x100000) bytes not allocated at offset 0 bytes (0x0)\n"
                + "2 MiB (0x200000) bytes     allocated at offset 1 MiB (0x100000)\n"
                + "2 MiB (0x200000) bytes not allocated at offset 3 MiB (0x300000)\n"
                + "64 KiB (0x10000) bytes     allocated at offset 5 MiB (0x500000)\n"
                + "58.938 MiB (0x3af0000) bytes not allocated at offset 5.062 MiB (0x510000)\n",
                Oracle.run("qemu-io", "-r", "-c", "map", path("B.qcow2")));
        String readB = Oracle.run("qemu-io", "-r", "-c", "read -P 0xbb 1M 1M", "-c", "read -P 0xcc 2M 1M",
                "-c", "read -P 0xdd 5M 4k", path("B.qcow2"));
        assertTrue(!readB.contains("Pattern verification failed"), readB);
        for (String img : List.of("A.qcow2", "B.qcow2", "C.qcow2")) {
            String check = Oracle.run("qemu-img", "check", path(img));
            assertTrue(check.contains("No errors were found on the image.") && !check.contains("leaked"), img + ": " + check);
        }
        String readC = Oracle.run("qemu-io", "-r", "-c", "read -P 0xaa 0 1M", "-c", "read -P 0xbb 1M 1M",
                "-c", "read -P 0xcc 2M 1M", "-c", "read -P 0xdd 5M 4k", "-c", "read -P 0 6M 58M", path("C.qcow2"));
        assertTrue(!readC.contains("Pattern verification failed"), readC);
    }

    @Test
    void errorsAsQemuPrintsThem() {
        assertEquals("Device 'nosuch' not found\n", hmp("commit nosuch"));
        assertEquals("'commit' error for 'virtio1': Operation not supported\n", hmp("commit virtio1"));
        machine.graph().backend("virtio0").root().setBlocker("block device is in use by block job: stream");
        try {
            assertEquals("'commit' error for 'virtio0': Device or resource busy\n", hmp("commit virtio0"));
        } finally {
            machine.graph().backend("virtio0").root().setBlocker(null);
        }
        assertTrue(events.isEmpty(), "no events: " + events);
    }
}
