package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.jobs.bitmap.NodeBitmaps;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.Oracle;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dirty bitmaps and incremental backup: the target of {@code sync=incremental} holds exactly the
 * clusters written since the bitmap was created or last backed up (judged by {@code qemu-io map}
 * and {@code read -P}); a cancelled incremental backup gives its pieces back; QEMU's error texts.
 */
@Timeout(180)
class BitmapBackupTest {

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
        DriverRegistry.standard().require("qcow2").create(dir.resolve("d0.qcow2"), SIZE, BlockOptions.empty());
        machine.addDrive("virtio0", dir.resolve("d0.qcow2"), null);
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name()));
    }

    @AfterEach
    void tearDown() {
        machine.jobs().cancelAll(Duration.ofSeconds(30));
        machine.graph().closeAll();
    }

    private JsonNode qmp(String name, String... kv) {
        ObjectNode args = Json.object();
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i].equals("speed") || kv[i].equals("granularity")) {
                args.put(kv[i], Long.parseLong(kv[i + 1]));
            } else if (kv[i].equals("persistent")) {
                args.put(kv[i], Boolean.parseBoolean(kv[i + 1]));
            } else {
                args.put(kv[i], kv[i + 1]);
            }
        }
        return monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    private String fails(String name, String... kv) {
        return assertThrows(CommandException.class, () -> qmp(name, kv)).getMessage();
    }

    private void write(long off, int len, int pattern) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) pattern);
        machine.graph().backend("virtio0").write(off, ByteBuffer.wrap(b));
    }

    private String path(String n) {
        return dir.resolve(n).toString();
    }

    private void await(String event, int times) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (events.stream().filter(event::equals).count() < times) {
            assertTrue(System.nanoTime() < deadline, "no " + event + " in " + events);
            Thread.sleep(10);
        }
    }

    private long count() {
        return NodeBitmaps.find(machine.graph().backend("virtio0").root(), "b0").count();
    }

    @Test
    void incrementalBackupsHoldExactlyTheWritesSinceTheLastOne() throws Exception {
        write(0, 1 << 20, 0x01); // before the bitmap: never in an incremental backup
        qmp("block-dirty-bitmap-add", "node", "virtio0", "name", "b0");
        write(1 << 20, 64 << 10, 0x11);
        write(10L << 20, 4096, 0x22);
        assertEquals(128 << 10, count());
        assertEquals("[{\"name\":\"b0\",\"count\":131072,\"granularity\":65536,\"recording\":true,\"busy\":false,\"persistent\":false}]",
                qmp("query-block").get(0).get("inserted").get("dirty-bitmaps").toString());
        qmp("drive-backup", "device", "virtio0", "sync", "incremental", "bitmap", "b0", "target", path("inc0.qcow2"));
        await("BLOCK_JOB_COMPLETED", 1);
        await("JOB_STATUS_CHANGE", 1);
        assertEquals(0, count(), "on success only writes since the backup started remain");
        write(20L << 20, 100 << 10, 0x33);
        qmp("drive-backup", "device", "virtio0", "sync", "incremental", "bitmap", "b0", "target", path("inc1.qcow2"));
        await("BLOCK_JOB_COMPLETED", 2);
        Thread.sleep(200); // the target is closed as the job ends
        assertEquals("1 MiB (0x100000) bytes not allocated at offset 0 bytes (0x0)\n"
                + "64 KiB (0x10000) bytes     allocated at offset 1 MiB (0x100000)\n"
                + "8.938 MiB (0x8f0000) bytes not allocated at offset 1.062 MiB (0x110000)\n"
                + "64 KiB (0x10000) bytes     allocated at offset 10 MiB (0xa00000)\n"
                + "53.938 MiB (0x35f0000) bytes not allocated at offset 10.062 MiB (0xa10000)\n",
                Oracle.run("qemu-io", "-r", "-U", "-c", "map", path("inc0.qcow2")));
        String r0 = Oracle.run("qemu-io", "-r", "-U", "-c", "read -P 0x11 1M 64k", "-c", "read -P 0x22 10M 4k",
                "-c", "read -P 0 10244k 60k", path("inc0.qcow2"));
        assertTrue(!r0.contains("Pattern verification failed"), r0);
        assertEquals("20 MiB (0x1400000) bytes not allocated at offset 0 bytes (0x0)\n"
                + "128 KiB (0x20000) bytes     allocated at offset 20 MiB (0x1400000)\n"
                + "43.875 MiB (0x2be0000) bytes not allocated at offset 20.125 MiB (0x1420000)\n",
                Oracle.run("qemu-io", "-r", "-U", "-c", "map", path("inc1.qcow2")));
        String r1 = Oracle.run("qemu-io", "-r", "-U", "-c", "read -P 0x33 20M 100k", path("inc1.qcow2"));
        assertTrue(!r1.contains("Pattern verification failed"), r1);
        for (String t : List.of("inc0.qcow2", "inc1.qcow2")) {
            assertTrue(Oracle.run("qemu-img", "check", "-U", path(t)).contains("No errors were found on the image."), t);
        }
    }

    @Test
    void aCancelledIncrementalBackupGivesItsPiecesBack() throws Exception {
        qmp("block-dirty-bitmap-add", "node", "virtio0", "name", "b0", "granularity", "65536");
        write(0, 8 << 20, 0x44);
        qmp("drive-backup", "device", "virtio0", "sync", "bitmap", "bitmap", "b0", "bitmap-mode", "on-success",
                "target", path("inc.qcow2"), "speed", "65536");
        assertEquals("Bitmap 'b0' is currently in use by another operation and cannot be used",
                fails("block-dirty-bitmap-clear", "node", "virtio0", "name", "b0"));
        write(32L << 20, 4096, 0x55);
        ObjectNode c = Json.object();
        c.put("device", "virtio0");
        c.put("force", true);
        monitor.registry().invoke("block-job-cancel", c, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
        await("BLOCK_JOB_CANCELLED", 1);
        await("JOB_STATUS_CHANGE", 1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (NodeBitmaps.find(machine.graph().backend("virtio0").root(), "b0").isBusy()) {
            assertTrue(System.nanoTime() < deadline);
            Thread.sleep(10);
        }
        assertEquals((8 << 20) + (64 << 10), count(), "the taken pieces are back, with the write made meanwhile");
        qmp("block-dirty-bitmap-clear", "node", "virtio0", "name", "b0");
        assertEquals(0, count());
        qmp("block-dirty-bitmap-remove", "node", "virtio0", "name", "b0");
        assertEquals("Dirty bitmap 'b0' not found", fails("block-dirty-bitmap-remove", "node", "virtio0", "name", "b0"));
    }

    @Test
    void errorsAsQemuWordsThem() {
        qmp("block-dirty-bitmap-add", "node", "virtio0", "name", "b0");
        assertEquals("Bitmap already exists: b0", fails("block-dirty-bitmap-add", "node", "virtio0", "name", "b0"));
        assertEquals("Granularity must be power of 2 and at least 512",
                fails("block-dirty-bitmap-add", "node", "virtio0", "name", "b1", "granularity", "1000"));
        assertEquals("Cannot find device='nosuch' nor node-name='nosuch'", fails("block-dirty-bitmap-add", "node", "nosuch", "name", "b1"));
        assertEquals("Bitmap name cannot be empty", fails("block-dirty-bitmap-add", "node", "virtio0", "name", ""));
        assertTrue(fails("block-dirty-bitmap-add", "node", "virtio0", "name", "b1", "persistent", "true").contains("not supported by Strata"));
        assertEquals("Node 'nosuch' not found", fails("block-dirty-bitmap-clear", "node", "nosuch", "name", "b0"));
        assertEquals("Dirty bitmap 'bx' not found", fails("block-dirty-bitmap-clear", "node", "virtio0", "name", "bx"));
        assertEquals("must provide a valid bitmap name for 'incremental' sync mode",
                fails("drive-backup", "device", "virtio0", "sync", "incremental", "target", path("x.qcow2")));
        assertEquals("Bitmap sync mode must be 'on-success' when using sync mode 'incremental'",
                fails("drive-backup", "device", "virtio0", "sync", "incremental", "bitmap", "b0", "bitmap-mode", "never", "target", path("x.qcow2")));
        assertEquals("Bitmap sync mode must be given when providing a bitmap",
                fails("drive-backup", "device", "virtio0", "sync", "bitmap", "bitmap", "b0", "target", path("x.qcow2")));
        assertEquals("Bitmap 'bx' could not be found",
                fails("drive-backup", "device", "virtio0", "sync", "incremental", "bitmap", "bx", "target", path("x.qcow2")));
        assertEquals("Cannot specify bitmap sync mode without a bitmap",
                fails("drive-backup", "device", "virtio0", "sync", "full", "bitmap-mode", "never", "target", path("x.qcow2")));
        assertTrue(machine.jobs().queryBlockJobs().isEmpty());
        assertTrue(events.isEmpty(), events.toString());
    }

    @Test
    void transactionAddsABitmapAtTheBackupsPointInTime() throws Exception {
        write(0, 64 << 10, 0x66);
        ObjectNode t = Json.object();
        var arr = t.putArray("actions");
        ObjectNode add = arr.addObject().put("type", "block-dirty-bitmap-add");
        add.putObject("data").put("node", "virtio0").put("name", "b0");
        ObjectNode bk = arr.addObject().put("type", "drive-backup");
        bk.putObject("data").put("device", "virtio0").put("sync", "full").put("target", path("full.qcow2"));
        monitor.registry().invoke("transaction", t, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
        assertEquals(0, count());
        write(5L << 20, 512, 0x77);
        assertEquals(64 << 10, count());
        BlockBackend b = machine.graph().backend("virtio0");
        assertTrue(b.root() != null);

        // a failing transaction takes its bitmap add back
        ObjectNode t2 = Json.object();
        var arr2 = t2.putArray("actions");
        arr2.addObject().put("type", "block-dirty-bitmap-add").putObject("data").put("node", "virtio0").put("name", "b2");
        arr2.addObject().put("type", "abort").putObject("data");
        assertThrows(CommandException.class, () -> monitor.registry().invoke("transaction", t2,
                new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder())));
        assertEquals(null, NodeBitmaps.find(b.root(), "b2"));
    }
}
