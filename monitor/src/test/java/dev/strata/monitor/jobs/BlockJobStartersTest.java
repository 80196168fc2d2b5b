package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.ErrorClass;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** HMP commit, drive_mirror, drive_backup and QMP block-commit through the real monitor. */
@Timeout(120)
class BlockJobStartersTest {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
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
        BlockBackend b = machine.addDrive("virtio0", dir.resolve("C.qcow2"), null);
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name() + (e.data() != null && e.data().has("status") ? " " + e.data().get("status").asText() : "")));
    }

    @AfterEach
    void tearDown() {
        machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
        machine.graph().closeAll();
    }

    private String hmp(String line) {
        return monitor.hmp().executeNow(line);
    }

    private JsonNode qmp(String name, ObjectNode args) {
        return monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    private byte[] readAll() {
        ByteBuffer b = ByteBuffer.allocate((int) SIZE);
        machine.graph().backend("virtio0").read(0, b);
        return b.array();
    }

    private void await(String event, int times) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (events.stream().filter(event::equals).count() < times) {
            assertTrue(System.nanoTime() < deadline, "no " + event + " in " + events);
            Thread.sleep(10);
        }
    }

    @Test
    void hmpCommitIsSynchronousAndKeepsTheChain() {
        byte[] before = readAll();
        assertEquals("Device 'nosuch' not found\n", hmp("commit nosuch"));
        assertEquals("", hmp("commit virtio0"));
        assertEquals("", hmp("info block-jobs").equals("No active jobs\n") ? "" : "jobs!");
        BlockNode root = machine.graph().backend("virtio0").root();
        assertEquals("B.qcow2", root.backingFileName(), "chain unchanged");
        ByteBuffer inB = ByteBuffer.allocate(1 << 20);
        root.backing().read(2L << 20, inB);
        assertEquals((byte) 0xcc, inB.get(0), "C's data is now in B");
        assertTrue(Arrays.equals(before, readAll()));
        assertEquals("", hmp("commit all"));
        assertTrue(events.isEmpty(), "no events: " + events);
    }

    @Test
    void driveMirrorCompletePivotsAndErrors() throws Exception {
        byte[] before = readAll();
        Path m = dir.resolve("M.qcow2");
        assertEquals("Error: Could not open '" + dir.resolve("nosuch.qcow2") + "': No such file or directory\n",
                hmp("drive_mirror -n virtio0 " + dir.resolve("nosuch.qcow2") + " qcow2"));
        assertEquals("Error: Unknown file format 'nosuchfmt'\n", hmp("drive_mirror virtio0 " + dir.resolve("X.qcow2") + " nosuchfmt"));
        assertEquals("Error: Failed to get \"write\" lock\nIs another process using the image [" + dir.resolve("C.qcow2") + "]?\n",
                hmp("drive_mirror virtio0 " + dir.resolve("C.qcow2")));
        assertEquals("", hmp("drive_mirror virtio0 " + m + " qcow2"));
        await("BLOCK_JOB_READY", 1);
        assertEquals("Type mirror, device virtio0: Completed 1048576 of 1048576 bytes, speed limit 0 bytes/s\n", hmp("info block-jobs"));
        assertEquals("Error: Need a root block node\n", hmp("drive_mirror virtio0 " + dir.resolve("M2.qcow2") + " qcow2"));
        assertEquals("Error: Node 'virtio0' is busy: block device is in use by block job: mirror\n",
                hmp("drive_backup virtio0 " + dir.resolve("b.qcow2") + " qcow2"));
        assertEquals("'commit' error for 'virtio0': Device or resource busy\n", hmp("commit virtio0"));
        assertEquals("", hmp("block_job_complete virtio0"));
        await("JOB_STATUS_CHANGE null", 1);
        BlockNode root = machine.graph().backend("virtio0").root();
        assertEquals(m.toString(), root.filename());
        assertEquals(dir.resolve("B.qcow2").toString(), root.backing().filename());
        assertTrue(Arrays.equals(before, readAll()));
        assertEquals(List.of("JOB_STATUS_CHANGE created", "JOB_STATUS_CHANGE running", "JOB_STATUS_CHANGE ready", "BLOCK_JOB_READY",
                "JOB_STATUS_CHANGE waiting", "JOB_STATUS_CHANGE pending", "BLOCK_JOB_COMPLETED", "JOB_STATUS_CHANGE concluded",
                "JOB_STATUS_CHANGE null"), events);

        events.clear();
        assertEquals("", hmp("drive_mirror -f virtio0 " + dir.resolve("F.qcow2") + " qcow2"));
        await("BLOCK_JOB_READY", 1);
        assertEquals("", hmp("block_job_cancel virtio0"));
        await("JOB_STATUS_CHANGE null", 1);
        assertTrue(events.contains("BLOCK_JOB_COMPLETED") && !events.contains("BLOCK_JOB_CANCELLED"), events.toString());
        assertEquals(m.toString(), machine.graph().backend("virtio0").root().filename(), "soft cancel: no pivot");
    }

    @Test
    void driveBackupAndBlockCommitOverQmp() throws Exception {
        assertEquals("", hmp("drive_backup virtio0 " + dir.resolve("BK.qcow2") + " qcow2"));
        await("JOB_STATUS_CHANGE null", 1);
        assertEquals(List.of("JOB_STATUS_CHANGE created", "JOB_STATUS_CHANGE running", "JOB_STATUS_CHANGE paused",
                "JOB_STATUS_CHANGE running", "JOB_STATUS_CHANGE waiting", "JOB_STATUS_CHANGE pending", "BLOCK_JOB_COMPLETED",
                "JOB_STATUS_CHANGE concluded", "JOB_STATUS_CHANGE null"), events);
        CommandException e = assertThrows(CommandException.class, () -> qmp("block-commit", obj("device", "nosuch")));
        assertEquals(ErrorClass.DeviceNotFound, e.errorClass());
        assertEquals("Device 'nosuch' not found", e.desc());
        byte[] before = readAll();
        events.clear();
        ObjectNode args = obj("device", "virtio0");
        args.put("top", dir.resolve("B.qcow2").toString());
        qmp("block-commit", args);
        await("JOB_STATUS_CHANGE null", 1);
        assertEquals(dir.resolve("A.qcow2").toString(), machine.graph().backend("virtio0").root().backingFileName());
        assertTrue(Arrays.equals(before, readAll()));
        events.clear();
        qmp("block-commit", obj("device", "virtio0"));
        await("BLOCK_JOB_READY", 1);
        qmp("block-job-complete", obj("device", "virtio0"));
        await("JOB_STATUS_CHANGE null", 1);
        assertEquals(dir.resolve("A.qcow2").toString(), machine.graph().backend("virtio0").root().filename());
        assertTrue(Arrays.equals(before, readAll()));
    }

    private static ObjectNode obj(String k, String v) {
        ObjectNode o = Json.object();
        o.put(k, v);
        return o;
    }
}
