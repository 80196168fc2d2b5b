package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.file.FileDriver;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes a command opens for a drive take the drive's cache options, as QEMU opens them with the
 * source's flags: a drive-mirror or drive-backup target of a {@code cache=none,cache.no-flush=on}
 * drive writes with O_DIRECT and drops flushes, and so does a snapshot overlay. query-block
 * reports the mode in force.
 */
@Timeout(120)
class CacheModeTargetsTest {

    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        Path img = dir.resolve("A.qcow2");
        DriverRegistry.standard().require("qcow2").create(img, SIZE, BlockOptions.empty());
        BlockNode root = machine.graph().open(BlockOptions.parse("driver=qcow2,file=" + img + ",cache.direct=on,cache.no-flush=on", null));
        BlockBackend b = machine.graph().createBackend("virtio0", root, false);
        byte[] data = new byte[1 << 20];
        java.util.Arrays.fill(data, (byte) 0x5a);
        b.write(1 << 20, ByteBuffer.wrap(data));
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name()));
    }

    @AfterEach
    void tearDown() {
        machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
        machine.graph().closeAll();
    }

    @Test
    void queryBlockReportsTheModeInForce() {
        JsonNode cache = monitor.registry().invoke("query-block", Json.object(), context()).get(0).get("inserted").get("cache");
        assertEquals("{\"writeback\":false,\"direct\":true,\"no-flush\":true}", cache.toString());
        assertEquals("    Cache mode:       writethrough, direct, ignore flushes",
                monitor.hmp().executeNow("info block").lines().filter(l -> l.contains("Cache mode")).findFirst().orElseThrow());
    }

    @Test
    void mirrorAndBackupTargetsAndSnapshotOverlaysTakeTheDrivesCacheOptions() throws Exception {
        Path m = dir.resolve("M.qcow2");
        assertEquals("", monitor.hmp().executeNow("drive_mirror virtio0 " + m + " qcow2"));
        await("BLOCK_JOB_READY");
        assertDirectNoFlush(m);
        assertEquals("", monitor.hmp().executeNow("block_job_complete virtio0"));
        await("BLOCK_JOB_COMPLETED");
        byte[] got = new byte[1 << 20];
        ByteBuffer buf = ByteBuffer.wrap(got);
        machine.graph().backend("virtio0").read(1 << 20, buf);
        assertEquals((byte) 0x5a, got[0]);
        assertArrayEquals(got, readWithQemuImg(m));

        events.clear();
        Path bk = dir.resolve("BK.qcow2");
        assertEquals("", monitor.hmp().executeNow("drive_backup virtio0 " + bk + " qcow2"));
        assertDirectNoFlush(bk);
        await("BLOCK_JOB_COMPLETED");

        Path s = dir.resolve("S.qcow2");
        assertEquals("", monitor.hmp().executeNow("snapshot_blkdev virtio0 " + s + " qcow2"));
        assertDirectNoFlush(s);
    }

    private void assertDirectNoFlush(Path file) {
        BlockNode n = machine.graph().nodesNewestFirst().stream()
                .filter(x -> x.formatName().equals("qcow2") && x.filename().equals(file.toString())).findFirst().orElseThrow();
        assertTrue(n.cache().direct() && n.cache().noFlush(), file + ": " + n.cache());
        assertTrue(((FileDriver) n.file().driver()).isDirect(), file + " is written with O_DIRECT");
    }

    private byte[] readWithQemuImg(Path img) throws Exception {
        Path raw = dir.resolve(img.getFileName() + ".raw");
        Process p = new ProcessBuilder("qemu-img", "convert", "-U", "-O", "raw", img.toString(), raw.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        byte[] all = java.nio.file.Files.readAllBytes(raw);
        return java.util.Arrays.copyOfRange(all, 1 << 20, 2 << 20);
    }

    private CommandContext context() {
        return new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder());
    }

    private void await(String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!events.contains(event)) {
            assertTrue(System.nanoTime() < deadline, "no " + event + " in " + events);
            Thread.sleep(10);
        }
    }
}
