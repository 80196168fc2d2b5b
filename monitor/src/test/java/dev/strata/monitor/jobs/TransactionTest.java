package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.ErrorClass;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** QMP {@code transaction}: all or nothing, undo of done actions, QEMU's errors, grouped completion. */
@Timeout(180)
class TransactionTest {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        for (String n : List.of("d0.qcow2", "d1.qcow2")) {
            DriverRegistry.standard().require("qcow2").create(dir.resolve(n), SIZE, BlockOptions.empty());
        }
        machine.addDrive("virtio0", dir.resolve("d0.qcow2"), null);
        machine.addDrive("virtio1", dir.resolve("d1.qcow2"), null);
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name() + (e.data() != null && e.data().has("device") ? " " + e.data().get("device").asText() : "")));
    }

    @AfterEach
    void tearDown() {
        machine.jobs().cancelAll(Duration.ofSeconds(30));
        machine.graph().closeAll();
    }

    private JsonNode qmp(String name, ObjectNode args) {
        return monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    private static ObjectNode action(String type, String... kv) {
        ObjectNode a = Json.object();
        a.put("type", type);
        ObjectNode d = a.putObject("data");
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i].equals("speed")) {
                d.put(kv[i], Long.parseLong(kv[i + 1]));
            } else {
                d.put(kv[i], kv[i + 1]);
            }
        }
        return a;
    }

    private static ObjectNode tx(ObjectNode... actions) {
        ObjectNode t = Json.object();
        ArrayNode arr = t.putArray("actions");
        for (ObjectNode a : actions) {
            arr.add(a);
        }
        return t;
    }

    private CommandException fails(ObjectNode args) {
        return assertThrows(CommandException.class, () -> qmp("transaction", args));
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

    @Test
    void snapshotsAndBackupTogether() throws Exception {
        qmp("transaction", tx(action("blockdev-snapshot-sync", "device", "virtio0", "snapshot-file", path("s0.qcow2")),
                action("blockdev-snapshot-sync", "device", "virtio1", "snapshot-file", path("s1.qcow2")),
                action("drive-backup", "device", "virtio1", "target", path("b1.qcow2"), "sync", "full")));
        assertEquals(path("s0.qcow2"), machine.graph().backend("virtio0").root().filename());
        assertEquals(path("s1.qcow2"), machine.graph().backend("virtio1").root().filename());
        await("BLOCK_JOB_COMPLETED virtio1", 1);
        assertTrue(Files.exists(dir.resolve("b1.qcow2")));
    }

    @Test
    void aFailingActionUndoesTheDoneOnes() throws Exception {
        CommandException e = fails(tx(action("blockdev-snapshot-sync", "device", "virtio0", "snapshot-file", path("s0.qcow2")),
                action("drive-backup", "device", "virtio1", "target", path("b1.qcow2"), "sync", "full", "speed", "65536"),
                action("blockdev-snapshot-sync", "device", "nosuch", "snapshot-file", path("s2.qcow2"))));
        assertEquals(ErrorClass.GenericError, e.errorClass());
        assertEquals("Cannot find device='nosuch' nor node-name=''", e.getMessage());
        BlockBackend b0 = machine.graph().backend("virtio0");
        assertEquals(path("d0.qcow2"), b0.root().filename(), "the drive is back on its image");
        assertFalse(b0.root().isReadOnly());
        b0.write(0, ByteBuffer.wrap(new byte[4096]));
        assertFalse(Files.exists(dir.resolve("s0.qcow2")), "the overlay this transaction created is gone");
        assertFalse(Files.exists(dir.resolve("b1.qcow2")), "the backup target it created is gone");
        assertTrue(machine.jobs().queryBlockJobs().isEmpty(), "the backup job was cancelled");
        assertTrue(events.contains("BLOCK_JOB_CANCELLED virtio1"), events.toString());
        assertEquals(null, machine.graph().backend("virtio1").root().blocker());
        // nothing left behind: the same names work now
        qmp("transaction", tx(action("blockdev-snapshot-sync", "device", "virtio0", "snapshot-file", path("s0.qcow2"))));
        assertEquals(path("s0.qcow2"), machine.graph().backend("virtio0").root().filename());
    }

    @Test
    void badInputGetsQemusErrors() {
        assertEquals("Parameter 'actions[0].type' does not accept value 'nosuch'", fails(tx(action("nosuch"))).getMessage());
        assertEquals("Transaction aborted using Abort action",
                fails(tx(action("blockdev-snapshot-sync", "device", "virtio0", "snapshot-file", path("s0.qcow2")), action("abort"))).getMessage());
        assertEquals(path("d0.qcow2"), machine.graph().backend("virtio0").root().filename());
        assertFalse(Files.exists(dir.resolve("s0.qcow2")));
        ObjectNode noData = Json.object();
        noData.put("type", "abort");
        assertEquals("Parameter 'actions[0].data' is missing", fails(tx(noData)).getMessage());
        assertEquals("Parameter 'device' is missing", fails(tx(action("drive-backup", "target", path("x"), "sync", "full"))).getMessage());
        ObjectNode notArray = Json.object();
        notArray.put("actions", 3);
        assertEquals("Invalid parameter type for 'actions', expected: array", fails(notArray).getMessage());
        ObjectNode badMode = tx(action("abort"));
        badMode.putObject("properties").put("completion-mode", "bogus");
        assertEquals("Parameter 'properties.completion-mode' does not accept value 'bogus'", fails(badMode).getMessage());
        assertEquals("Transaction action 'blockdev-snapshot' is not supported by Strata",
                fails(tx(action("blockdev-snapshot", "node", "a", "overlay", "b"))).getMessage());
        qmp("transaction", tx()); // an empty transaction does nothing, successfully
    }

    @Test
    void groupedBackupsEndTogether() throws Exception {
        ObjectNode t = tx(action("drive-backup", "device", "virtio0", "target", path("b0.qcow2"), "sync", "full", "speed", "65536"),
                action("drive-backup", "device", "virtio1", "target", path("b1.qcow2"), "sync", "full", "speed", "65536"));
        t.putObject("properties").put("completion-mode", "grouped");
        qmp("transaction", t);
        ObjectNode cancel = Json.object();
        cancel.put("device", "virtio0");
        cancel.put("force", true);
        qmp("block-job-cancel", cancel);
        await("BLOCK_JOB_CANCELLED virtio0", 1);
        await("BLOCK_JOB_CANCELLED virtio1", 1);

        events.clear();
        ObjectNode ind = tx(action("drive-backup", "device", "virtio0", "target", path("c0.qcow2"), "sync", "full", "speed", "65536"),
                action("drive-backup", "device", "virtio1", "target", path("c1.qcow2"), "sync", "full", "speed", "65536"));
        ind.putObject("properties").put("completion-mode", "individual");
        qmp("transaction", ind);
        qmp("block-job-cancel", cancel);
        await("BLOCK_JOB_CANCELLED virtio0", 1);
        Thread.sleep(300);
        assertEquals(1, machine.jobs().queryBlockJobs().size(), "individual: the other job runs on");
    }
}
