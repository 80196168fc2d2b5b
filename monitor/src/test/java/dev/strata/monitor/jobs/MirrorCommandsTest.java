package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
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

/** drive-mirror / blockdev-mirror over QMP: copy-mode write-blocking, replaces, and sync=full onto an image holding old data. */
@Timeout(120)
class MirrorCommandsTest {

    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        // A <- B: 1 MiB of data in each, the rest unallocated (reads zeros)
        String[] names = {"A.qcow2", "B.qcow2"};
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
        machine.addDrive("virtio0", dir.resolve("B.qcow2"), null);
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name() + (e.data() != null && e.data().has("status") ? " " + e.data().get("status").asText() : "")));
    }

    @AfterEach
    void tearDown() {
        machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
        machine.graph().closeAll();
    }

    private JsonNode qmp(String name, ObjectNode args) {
        return monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    private String error(String name, ObjectNode args) {
        return assertThrows(CommandException.class, () -> qmp(name, args)).desc();
    }

    private void await(String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!events.contains(event)) {
            assertTrue(System.nanoTime() < deadline, "no " + event + " in " + events);
            Thread.sleep(10);
        }
    }

    private BlockBackend drive() {
        return machine.graph().backend("virtio0");
    }

    private byte[] readAll(BlockNode n) {
        ByteBuffer b = ByteBuffer.allocate((int) SIZE);
        n.read(0, b);
        return b.array();
    }

    /** An existing image full of 0xee, opened as node {@code name}. */
    private BlockNode dirtyImage(String file, String name) {
        Path p = dir.resolve(file);
        DriverRegistry.standard().require("qcow2").create(p, SIZE, BlockOptions.empty());
        BlockGraph g = new BlockGraph();
        BlockNode n = g.open(BlockOptions.empty().with("file", p.toString()));
        byte[] junk = new byte[(int) SIZE];
        Arrays.fill(junk, (byte) 0xee);
        n.write(0, ByteBuffer.wrap(junk));
        n.flush();
        g.closeAll();
        return machine.graph().open(BlockOptions.empty().with("driver", "qcow2").with("file", p.toString()).with("node-name", name));
    }

    private static ObjectNode args(String... kv) {
        ObjectNode o = Json.object();
        for (int i = 0; i < kv.length; i += 2) {
            o.put(kv[i], kv[i + 1]);
        }
        return o;
    }

    @Test
    void driveMirrorWriteBlockingPutsGuestWritesOnTheTargetBeforeTheyComplete() throws Exception {
        qmp("drive-mirror", args("device", "virtio0", "target", dir.resolve("M.qcow2").toString(), "sync", "full",
                "node-name", "tgt", "copy-mode", "write-blocking"));
        await("BLOCK_JOB_READY");
        qmp("block-job-pause", args("device", "virtio0"));
        byte[] data = new byte[64 << 10];
        Arrays.fill(data, (byte) 0x3c);
        drive().write(5L << 20, ByteBuffer.wrap(data));
        ByteBuffer got = ByteBuffer.allocate(data.length);
        machine.graph().node("tgt").read(5L << 20, got);
        assertArrayEquals(data, got.array(), "on the target while the job is paused");
        qmp("block-job-resume", args("device", "virtio0"));
        byte[] before = readAll(drive().root());
        qmp("block-job-complete", args("device", "virtio0"));
        await("JOB_STATUS_CHANGE null");
        assertSame(machine.graph().node("tgt"), drive().root());
        assertArrayEquals(before, readAll(drive().root()));
    }

    @Test
    void replacesFollowsQemusChecksAndAcceptsTheSourceItself() throws Exception {
        BlockNode source = drive().root();
        dirtyImage("T.qcow2", "tgt");
        assertEquals("a node-name must be provided when replacing a named node of the graph",
                error("drive-mirror", args("device", "virtio0", "target", dir.resolve("M.qcow2").toString(), "sync", "full",
                        "replaces", source.nodeName())));
        assertEquals("Failed to find node with node-name='nosuch'",
                error("blockdev-mirror", args("device", "virtio0", "target", "tgt", "sync", "full", "replaces", "nosuch")));
        String below = source.backing().nodeName();
        assertEquals("Cannot replace '" + below + "' by a node mirrored from '" + source.nodeName()
                        + "', because it cannot be guaranteed that doing so would not lead to an abrupt change of visible data",
                error("blockdev-mirror", args("device", "virtio0", "target", "tgt", "sync", "full", "replaces", below)));
        assertTrue(events.isEmpty(), "no job was created: " + events);
        byte[] before = readAll(source);
        qmp("blockdev-mirror", args("device", "virtio0", "target", "tgt", "sync", "full", "replaces", source.nodeName()));
        await("BLOCK_JOB_READY");
        qmp("block-job-complete", args("device", "virtio0"));
        await("JOB_STATUS_CHANGE null");
        assertSame(machine.graph().node("tgt"), drive().root(), "the source was replaced by the target");
        assertArrayEquals(before, readAll(drive().root()));
    }

    @Test
    void targetAndBufferChecksAndASmallBuffer() throws Exception {
        BlockNode source = drive().root();
        assertEquals("Node '" + source.backing().nodeName() + "' is busy: node is used as backing hd of 'virtio0'",
                error("blockdev-mirror", args("device", "virtio0", "target", source.backing().nodeName(), "sync", "full")));
        assertEquals("Can't mirror node into itself",
                error("blockdev-mirror", args("device", "virtio0", "target", source.nodeName(), "sync", "full")));
        dirtyImage("T.qcow2", "tgt");
        ObjectNode bad = args("device", "virtio0", "target", "tgt", "sync", "full");
        bad.put("buf-size", -1);
        assertEquals("Invalid parameter 'buf-size'", error("blockdev-mirror", bad));
        assertTrue(events.isEmpty(), "no job was created: " + events);
        // one 64 KiB copy in flight at a time still gets there
        ObjectNode small = args("device", "virtio0", "target", "tgt", "sync", "full");
        small.put("buf-size", 64 << 10);
        byte[] before = readAll(source);
        qmp("blockdev-mirror", small);
        await("BLOCK_JOB_READY");
        qmp("block-job-complete", args("device", "virtio0"));
        await("JOB_STATUS_CHANGE null");
        assertArrayEquals(before, readAll(drive().root()));
    }

    @Test
    void syncFullOntoAnImageWithOldDataZeroesWhatTheSourceDoesNotHold() throws Exception {
        byte[] before = readAll(drive().root());
        dirtyImage("T.qcow2", "tgt");
        qmp("blockdev-mirror", args("device", "virtio0", "target", "tgt", "sync", "full"));
        await("BLOCK_JOB_READY");
        qmp("block-job-cancel", args("device", "virtio0"));
        await("JOB_STATUS_CHANGE null");
        assertArrayEquals(before, readAll(machine.graph().node("tgt")), "blockdev-mirror: the old 0xee bytes are gone");

        events.clear();
        machine.graph().close(machine.graph().node("tgt"));
        dirtyImage("E.qcow2", "unused");
        machine.graph().close(machine.graph().node("unused"));
        qmp("drive-mirror", args("device", "virtio0", "target", dir.resolve("E.qcow2").toString(), "sync", "full",
                "mode", "existing", "node-name", "e"));
        await("BLOCK_JOB_READY");
        assertArrayEquals(before, readAll(machine.graph().node("e")), "drive-mirror mode=existing: zeroed as well");
        qmp("block-job-cancel", args("device", "virtio0"));
        await("JOB_STATUS_CHANGE null");
    }
}
