package dev.strata.monitor.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.Oracle;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pull-mode incremental backup as backup products run it against QEMU: a checkpoint bitmap records
 * writes; at backup time one {@code transaction} starts a new checkpoint, freezes the old one and
 * starts {@code blockdev-backup sync=none} into a fleecing overlay; the overlay is exported with the
 * frozen bitmap. While a writer keeps changing the disk, {@code nbdinfo --map=qemu:dirty-bitmap:}
 * must list exactly the extents changed before the point in time, and the exported image must read
 * as the disk was at that point.
 */
@Timeout(180)
class PullBackupTest {

    private static final long SIZE = 64L << 20;
    private static final int GRAN = 64 << 10;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        DriverRegistry.standard().require("qcow2").create(dir.resolve("disk.qcow2"), SIZE, BlockOptions.empty());
        DriverRegistry.standard().require("qcow2").create(dir.resolve("fleece.qcow2"), SIZE, BlockOptions.empty());
        machine.addDrive("virtio0", dir.resolve("disk.qcow2"), "qcow2");
        monitor = machine.monitor();
    }

    @AfterEach
    void tearDown() {
        machine.jobs().cancelAll(Duration.ofSeconds(30));
        machine.graph().closeAll();
    }

    private JsonNode qmp(String name, String json) throws Exception {
        ObjectNode args = (ObjectNode) Json.MAPPER.readTree(json);
        return monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    private static void write(BlockBackend be, long offset, int len, int value) {
        ByteBuffer b = ByteBuffer.allocate(len);
        while (b.hasRemaining()) {
            b.put((byte) value);
        }
        be.write(offset, b.flip());
    }

    private static byte[] readAll(BlockBackend be) {
        ByteBuffer b = ByteBuffer.allocate((int) SIZE);
        be.read(0, b);
        return b.array();
    }

    @Test
    void exportReadsThePointInTimeAndTheBitmapListsExactlyTheChangedExtents() throws Exception {
        Oracle.requireTool("nbdinfo", "libnbd-bin");
        Oracle.requireQemuImg();
        BlockBackend disk = machine.graph().backend("virtio0");
        String node = disk.root().nodeName();
        write(disk, 0, 4 << 20, 0x11); // the last full backup's data
        qmp("block-dirty-bitmap-add", "{\"node\":\"" + node + "\",\"name\":\"chk0\",\"granularity\":" + GRAN + "}");
        write(disk, 1 << 20, 4096, 0x22);            // changes since the checkpoint: one piece at 1 MiB,
        write(disk, (8L << 20) + 100, 70_000, 0x33); // two pieces from 8 MiB
        machine.graph().open(BlockOptions.empty().with("driver", "qcow2").with("node-name", "fleece")
                .with("file.driver", "file").with("file.filename", dir.resolve("fleece.qcow2").toString()).with("backing", node));

        qmp("transaction", "{\"actions\":["
                + "{\"type\":\"block-dirty-bitmap-add\",\"data\":{\"node\":\"" + node + "\",\"name\":\"chk1\",\"granularity\":" + GRAN + "}},"
                + "{\"type\":\"block-dirty-bitmap-disable\",\"data\":{\"node\":\"" + node + "\",\"name\":\"chk0\"}},"
                + "{\"type\":\"blockdev-backup\",\"data\":{\"device\":\"virtio0\",\"target\":\"fleece\",\"sync\":\"none\",\"job-id\":\"fleecing\"}}]}");
        byte[] pointInTime = readAll(disk);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong writes = new AtomicLong();
        Thread guest = Thread.ofVirtual().start(() -> {
            Random r = new Random(7);
            while (!stop.get()) {
                write(disk, (long) r.nextInt((int) (SIZE / 4096)) * 4096, 4096, 0x40 + r.nextInt(64));
                writes.incrementAndGet();
            }
        });
        try {
            write(disk, 1 << 20, 4096, 0x44); // after the point in time: in chk1, not in the backup
            Path sock = dir.resolve("nbd.sock");
            qmp("nbd-server-start", "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + sock + "\"}}}");
            qmp("block-export-add", "{\"type\":\"nbd\",\"id\":\"backup\",\"node-name\":\"fleece\",\"bitmaps\":[\"chk0\"]}");
            String uri = "nbd+unix:///fleece?socket=" + sock;

            List<String> dirty = new ArrayList<>();
            for (String line : Oracle.run("nbdinfo", "--map=qemu:dirty-bitmap:chk0", uri).split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 3 && f[2].equals("1")) {
                    dirty.add(f[0] + "+" + f[1]);
                }
            }
            assertEquals(List.of((1 << 20) + "+" + GRAN, (8L << 20) + "+" + 2 * GRAN), dirty,
                    "the frozen checkpoint lists the pieces written before the point in time, nothing the guest wrote later");

            Path copy = dir.resolve("backup.raw");
            Oracle.run("qemu-img", "convert", "-f", "raw", "-O", "raw", uri, copy.toString());
            assertTrue(writes.get() > 0, "the guest wrote during the backup");
            assertArrayEquals(pointInTime, Files.readAllBytes(copy), "the export reads the disk as it was at the transaction");
            qmp("block-export-del", "{\"id\":\"backup\"}");
        } finally {
            stop.set(true);
            guest.join();
        }
        qmp("block-job-cancel", "{\"device\":\"fleecing\"}");
        qmp("block-dirty-bitmap-remove", "{\"node\":\"" + node + "\",\"name\":\"chk0\"}");
    }
}
