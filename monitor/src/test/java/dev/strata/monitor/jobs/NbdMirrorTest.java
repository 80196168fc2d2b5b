package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.nbd.NbdExport;
import dev.strata.blockdrv.nbd.NbdListenAddress;
import dev.strata.blockdrv.nbd.NbdServer;
import dev.strata.blockdrv.nbd.NbdServerOptions;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mirror onto an {@code nbd} node (issue 17 item 2, libvirt's storage migration ending): the
 * destination is a blank qcow2 served by qemu-nbd or by Strata's own NBD server; mirror to READY
 * while the guest's disk is written, {@code block-job-cancel}, and the destination is identical to
 * the source per {@code qemu-img compare}.
 */
@Timeout(120)
class NbdMirrorTest {

    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();
    private Process qemuNbd;
    private NbdServer strataServer;
    private BlockGraph serverGraph;

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        Path src = dir.resolve("src.qcow2");
        DriverRegistry.standard().require("qcow2").create(src, SIZE, BlockOptions.empty());
        machine.addDrive("virtio0", src, null);
        write(0, 1 << 20, 0x5a);
        write(7L << 20, 300 << 10, 0x6b);
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name() + (e.data() != null && e.data().has("status") ? " " + e.data().get("status").asText() : "")));
    }

    @AfterEach
    void tearDown() {
        machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
        machine.graph().closeAll();
        if (qemuNbd != null) {
            qemuNbd.destroyForcibly();
        }
        if (strataServer != null) {
            strataServer.stop();
            serverGraph.closeAll();
        }
    }

    private void write(long offset, int len, int value) {
        byte[] d = new byte[len];
        Arrays.fill(d, (byte) value);
        machine.graph().backend("virtio0").write(offset, ByteBuffer.wrap(d));
    }

    private JsonNode qmp(String name, ObjectNode args) {
        return monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    private void await(String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!events.contains(event)) {
            assertTrue(System.nanoTime() < deadline, "no " + event + " in " + events);
            Thread.sleep(10);
        }
    }

    private static ObjectNode args(String... kv) {
        ObjectNode o = Json.object();
        for (int i = 0; i < kv.length; i += 2) {
            o.put(kv[i], kv[i + 1]);
        }
        return o;
    }

    static void assumeTool(String tool) {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin", tool)), tool + " not installed (.ci/run installs it)");
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + " failed:\n" + out);
        return out;
    }

    /** Mirror to READY, a guest write during the copy, cancel; then the graph closes and the images are compared. */
    private void mirrorAndCancel(ObjectNode mirrorArgs, String command) throws Exception {
        qmp(command, mirrorArgs);
        write(3L << 20, 64 << 10, 0x7c); // during the copy: mirrored by the job's write tracking
        await("BLOCK_JOB_READY");
        write(12L << 20, 128 << 10, 0x3d); // after READY: mirrored synchronously by the active job
        qmp("block-job-cancel", args("device", "virtio0"));
        await("JOB_STATUS_CHANGE null");
        assertTrue(events.contains("BLOCK_JOB_COMPLETED") || events.contains("BLOCK_JOB_CANCELLED"), events.toString());
        machine.graph().closeAll();
    }

    @Test
    void blockdevMirrorOntoQemuNbdExport() throws Exception {
        assumeTool("qemu-nbd");
        Path dst = dir.resolve("dst.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", dst.toString(), Long.toString(SIZE));
        Path sock = dir.resolve("dst.sock");
        qemuNbd = new ProcessBuilder("qemu-nbd", "-t", "-x", "dst", "-f", "qcow2", "-k", sock.toString(), dst.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        for (int i = 0; i < 200 && !Files.exists(sock); i++) {
            Thread.sleep(50);
        }
        ObjectNode add = Json.object();
        add.put("driver", "nbd").put("node-name", "remote").put("export", "dst");
        add.putObject("server").put("type", "unix").put("path", sock.toString());
        qmp("blockdev-add", add);
        mirrorAndCancel(args("device", "virtio0", "job-id", "virtio0", "target", "remote", "sync", "full"), "blockdev-mirror");
        qemuNbd.destroy();
        assertTrue(qemuNbd.waitFor(30, TimeUnit.SECONDS));
        assertTrue(run("qemu-img", "compare", dir.resolve("src.qcow2").toString(), dst.toString()).contains("Images are identical"));
        run("qemu-img", "check", dst.toString());
    }

    @Test
    void driveMirrorModeExistingOntoStrataNbdExportByUri() throws Exception {
        assumeTool("qemu-img");
        Path dst = dir.resolve("dst2.qcow2");
        DriverRegistry.standard().require("qcow2").create(dst, SIZE, BlockOptions.empty());
        serverGraph = new BlockGraph();
        BlockNode n = serverGraph.open(BlockOptions.parse("file=" + dst + ",format=qcow2", null));
        BlockBackend be = serverGraph.createBackend("exp", n, BlockBackend.CacheMode.WRITEBACK);
        Path sock = dir.resolve("strata.sock");
        strataServer = NbdServer.start(NbdListenAddress.unix(sock), NbdServerOptions.plain());
        strataServer.addExport(NbdExport.builder("dst", be).writable(true).build());
        mirrorAndCancel(args("device", "virtio0", "target", "nbd+unix:///dst?socket=" + sock, "format", "raw",
                "mode", "existing", "sync", "full"), "drive-mirror");
        strataServer.stop();
        strataServer = null;
        serverGraph.closeAll();
        assertTrue(run("qemu-img", "compare", dir.resolve("src.qcow2").toString(), dst.toString()).contains("Images are identical"));
        run("qemu-img", "check", dst.toString());
    }
}
