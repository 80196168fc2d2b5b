package dev.strata.monitor.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.Oracle;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NBD monitor commands against QEMU 7.2's replies (each expected string was taken from
 * {@code qemu-system-x86_64 -machine none -qmp stdio} on this machine), and real clients
 * ({@code nbdinfo}, {@code qemu-io}) reading what the commands export, with and without TLS.
 */
@Timeout(120)
class NbdCommandsTest {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<String> order = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        DriverRegistry.standard().require("qcow2").create(dir.resolve("d0.qcow2"), SIZE, BlockOptions.empty());
        machine.addDrive("virtio0", dir.resolve("d0.qcow2"), "qcow2");
        monitor = machine.monitor();
        monitor.events().subscribe(e -> {
            events.add(e.name() + " " + e.data());
            order.add("event");
        });
    }

    @AfterEach
    void tearDown() {
        try {
            qmp("nbd-server-stop");
        } catch (CommandException e) {
            // not running
        }
        machine.graph().closeAll();
    }

    private JsonNode qmp(String name, String json) {
        ObjectNode args;
        try {
            args = json == null ? Json.object() : (ObjectNode) Json.MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
        JsonNode r = monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
        order.add("return");
        return r;
    }

    private JsonNode qmp(String name) {
        return qmp(name, null);
    }

    private String fails(String name, String json) {
        return assertThrows(CommandException.class, () -> qmp(name, json)).getMessage();
    }

    private String hmp(String line) {
        ObjectNode a = Json.object();
        a.put("command-line", line);
        return qmp("human-monitor-command", a.toString()).asText().replace("\r\n", "\n");
    }

    private Path socket() {
        return dir.resolve("nbd.sock");
    }

    private void startUnix() {
        qmp("nbd-server-start", "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + socket() + "\"}}}");
    }

    @Test
    void withoutAServerCommandsFailAsQemuDoes() {
        assertEquals("NBD server not running", fails("block-export-add", "{\"type\":\"nbd\",\"id\":\"e0\",\"node-name\":\"virtio0\"}"));
        assertEquals("NBD server not running", fails("nbd-server-add", "{\"device\":\"virtio0\"}"));
        assertEquals("Export 'x' is not found", fails("nbd-server-remove", "{\"name\":\"x\"}"));
        assertEquals("NBD server not running", fails("nbd-server-stop", null));
        assertEquals("[]", qmp("query-block-exports").toString());
        assertEquals("Parameter 'type' does not accept value 'bogus'",
                fails("nbd-server-start", "{\"addr\":{\"type\":\"bogus\",\"data\":{}}}"));
        assertEquals("Parameter 'addr.data.port' is missing",
                fails("nbd-server-start", "{\"addr\":{\"type\":\"inet\",\"data\":{\"host\":\"127.0.0.1\"}}}"));
        assertEquals("Parameter 'max-connections' expects uint32_t", fails("nbd-server-start",
                "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + socket() + "\"}},\"max-connections\":-1}"));
        assertEquals("No TLS credentials with id 'nope'", fails("nbd-server-start",
                "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + socket() + "\"}},\"tls-creds\":\"nope\"}"));
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            assertEquals("Failed to find an available port: Address already in use", fails("nbd-server-start",
                    "{\"addr\":{\"type\":\"inet\",\"data\":{\"host\":\"127.0.0.1\",\"port\":\"" + taken.getLocalPort() + "\"}}}"));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        assertEquals("Failed to bind socket to /nonexistent/dir/s.sock: No such file or directory",
                fails("nbd-server-start", "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"/nonexistent/dir/s.sock\"}}}"));
    }

    @Test
    void exportsAreListedNewestFirstAndDeletedWithAnEvent() throws Exception {
        startUnix();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket())));
        assertEquals("NBD server already running", fails("nbd-server-start",
                "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + dir.resolve("2.sock") + "\"}}}"));
        qmp("nbd-server-add", "{\"device\":\"virtio0\"}");
        assertEquals("Block export id 'virtio0' is already in use", fails("nbd-server-add", "{\"device\":\"virtio0\"}"));
        assertEquals("Cannot find device='nope' nor node-name='nope'", fails("nbd-server-add", "{\"device\":\"nope\"}"));
        assertEquals("Bitmap 'bm' is not found",
                fails("nbd-server-add", "{\"device\":\"virtio0\",\"name\":\"other\",\"writable\":true,\"bitmap\":\"bm\"}"));
        String node = machine.graph().backend("virtio0").root().nodeName();
        qmp("block-export-add", "{\"type\":\"nbd\",\"id\":\"e1\",\"node-name\":\"" + node + "\",\"name\":\"e1n\",\"writable\":true,"
                + "\"description\":\"hello\",\"allocation-depth\":true}");
        assertEquals("Block export id 'e1' is already in use", fails("block-export-add", "{\"type\":\"nbd\",\"id\":\"e1\",\"node-name\":\"" + node + "\"}"));
        assertEquals("NBD server already has export named 'e1n'",
                fails("block-export-add", "{\"type\":\"nbd\",\"id\":\"e2\",\"node-name\":\"" + node + "\",\"name\":\"e1n\"}"));
        assertEquals("Invalid block export id", fails("block-export-add", "{\"type\":\"nbd\",\"id\":\"\",\"node-name\":\"" + node + "\"}"));
        assertEquals("Cannot find device='' nor node-name='zz'", fails("block-export-add", "{\"type\":\"nbd\",\"id\":\"e4\",\"node-name\":\"zz\"}"));
        assertEquals("export name '" + "n".repeat(4097) + "' too long",
                fails("block-export-add", "{\"type\":\"nbd\",\"id\":\"b\",\"node-name\":\"" + node + "\",\"name\":\"" + "n".repeat(4097) + "\"}"));
        assertEquals("[{\"node-name\":\"" + node + "\",\"shutting-down\":false,\"type\":\"nbd\",\"id\":\"e1\"},"
                + "{\"node-name\":\"" + node + "\",\"shutting-down\":false,\"type\":\"nbd\",\"id\":\"virtio0\"}]",
                qmp("query-block-exports").toString());

        order.clear();
        qmp("block-export-del", "{\"id\":\"e1\"}");
        assertEquals(List.of("event", "return"), order, "QEMU sends BLOCK_EXPORT_DELETED before the reply when no client is connected");
        assertEquals("BLOCK_EXPORT_DELETED {\"id\":\"e1\"}", events.get(events.size() - 1));
        assertEquals("Export 'e1' is not found", fails("block-export-del", "{\"id\":\"e1\"}"));
        qmp("nbd-server-remove", "{\"name\":\"virtio0\",\"mode\":\"hard\"}");
        assertEquals("BLOCK_EXPORT_DELETED {\"id\":\"virtio0\"}", events.get(events.size() - 1));
        assertEquals("[]", qmp("query-block-exports").toString());
        qmp("nbd-server-stop");
        assertFalse(Files.exists(socket()), "the socket file goes with the server");
    }

    @Test
    void hmpFormsPrintWhatQemuPrints() {
        assertEquals("nbd_server_start nbd_server_start [-a] [-w] host:port -- serve block devices on the given host and port\n",
                hmp("help nbd_server_start"));
        assertEquals("nbd_server_add nbd_server_add [-w] device [name] -- export a block device via NBD\n", hmp("help nbd_server_add"));
        assertEquals("nbd_server_remove nbd_server_remove [-f] name -- remove an export previously exposed via NBD\n",
                hmp("help nbd_server_remove"));
        assertEquals("nbd_server_stop nbd_server_stop -- stop serving block devices using the NBD protocol\n", hmp("help nbd_server_stop"));
        assertEquals("Error: NBD server not running\n", hmp("nbd_server_stop"));
        assertEquals("Error: error parsing address 'nohostport'\n", hmp("nbd_server_start nohostport"));
        assertEquals("", hmp("nbd_server_start -a -w unix:" + socket()));
        assertTrue(qmp("query-block-exports").toString().contains("\"id\":\"virtio0\""), "-a exports every drive");
        assertEquals("Error: NBD server already running\n", hmp("nbd_server_start 127.0.0.1:0"));
        assertEquals("Error: Block export id 'virtio0' is already in use\n", hmp("nbd_server_add -w virtio0"));
        assertEquals("", hmp("nbd_server_add virtio0 second"));
        assertEquals("", hmp("nbd_server_remove -f second"));
        assertEquals("Error: Export 'second' is not found\n", hmp("nbd_server_remove second"));
        assertEquals("", hmp("nbd_server_stop"));
        assertTrue(events.contains("BLOCK_EXPORT_DELETED {\"id\":\"virtio0\"}"));
    }

    /** As QEMU keeps a node alive while an export references it: a stream that drops the exported backing node leaves it open. */
    @Test
    void anExportedNodeOutlivesTheJobThatDropsItFromTheChain() throws Exception {
        Oracle.requireQemuImg();
        machine.graph().closeAll();
        machine = new TestMachine(dir);
        Path base = dir.resolve("base.qcow2");
        Path top = dir.resolve("top.qcow2");
        DriverRegistry.standard().require("qcow2").create(base, SIZE, BlockOptions.empty());
        DriverRegistry.standard().require("qcow2").create(top, SIZE,
                BlockOptions.empty().with("backing_file", base.toString()).with("backing_fmt", "qcow2"));
        BlockBackend be = machine.addDrive("virtio0", top, "qcow2");
        monitor = machine.monitor();
        String baseNode = be.root().backing().nodeName();
        startUnix();
        qmp("block-export-add", "{\"type\":\"nbd\",\"id\":\"b\",\"node-name\":\"" + baseNode + "\",\"name\":\"base\"}");
        qmp("block-stream", "{\"device\":\"virtio0\",\"job-id\":\"s\"}");
        var jobs = machine.jobs();
        for (int i = 0; i < 1200 && !jobs.jobsNewestFirst().isEmpty(); i++) {
            Thread.sleep(50);
        }
        assertEquals(null, be.root().backing(), "the stream dropped the backing node from the drive's chain");
        String r = Oracle.run("qemu-io", "-r", "-f", "raw", "nbd+unix:///base?socket=" + socket(), "-c", "read -P 0 0 64k");
        assertTrue(r.contains("read 65536/65536"), "the export still reads its node: " + r);
    }

    @Test
    void realClientsReadTheExport() throws Exception {
        Oracle.requireTool("nbdinfo", "libnbd-bin");
        Oracle.requireQemuImg();
        BlockBackend be = machine.graph().backend("virtio0");
        ByteBuffer data = ByteBuffer.allocate(1 << 20);
        while (data.hasRemaining()) {
            data.put((byte) 0x5a);
        }
        be.write(0, data.flip());
        startUnix();
        qmp("block-export-add", "{\"type\":\"nbd\",\"id\":\"disk\",\"node-name\":\"virtio0\",\"name\":\"disk\"}");
        String uri = "nbd+unix:///disk?socket=" + socket();
        assertEquals(String.valueOf(SIZE), Oracle.run("nbdinfo", "--size", uri).trim());
        String qio = Oracle.run("qemu-io", "-r", "-f", "raw", uri, "-c", "read -P 0x5a 0 1M", "-c", "read -P 0 1M 1M");
        assertFalse(qio.contains("Pattern verification failed"), qio);
        String w = Oracle.run(true, "qemu-io", "-f", "raw", uri, "-c", "write -P 1 0 4k");
        assertTrue(w.contains("Permission denied") || w.contains("Operation not permitted"), "a read-only export refuses writers: " + w);
        // as QEMU 7.2's server: multi-conn on every export, writable ones too (checked there with nbdinfo)
        assertTrue(Oracle.run("nbdinfo", uri).contains("can_multi_conn: true"));
        qmp("block-export-add", "{\"type\":\"nbd\",\"id\":\"rw\",\"node-name\":\"virtio0\",\"name\":\"rw\",\"writable\":true}");
        assertTrue(Oracle.run("nbdinfo", "nbd+unix:///rw?socket=" + socket()).contains("can_multi_conn: true"));
    }

    @Test
    void tlsExportsRefusePlainClientsAndCheckTheClientIdentity() throws Exception {
        Oracle.requireTool("nbdinfo", "libnbd-bin");
        TestPki pki = TestPki.create(dir.resolve("pki"), "O=Strata,CN=alice");
        qmp("object-add", "{\"qom-type\":\"tls-creds-x509\",\"id\":\"tls0\",\"endpoint\":\"server\",\"dir\":\"" + pki.serverDir
                + "\",\"verify-peer\":true}");
        assertEquals("Unable to access credentials /nonexistent/ca-cert.pem: No such file or directory", fails("object-add",
                "{\"qom-type\":\"tls-creds-x509\",\"id\":\"t1\",\"endpoint\":\"server\",\"dir\":\"/nonexistent\"}"));
        assertEquals("attempt to add duplicate property 'tls0' to object (type 'container')", fails("object-add",
                "{\"qom-type\":\"tls-creds-x509\",\"id\":\"tls0\",\"endpoint\":\"server\",\"dir\":\"" + pki.serverDir + "\"}"));
        qmp("object-add", "{\"qom-type\":\"authz-simple\",\"id\":\"auth0\",\"identity\":\"O=Strata,CN=alice\"}");
        qmp("object-add", "{\"qom-type\":\"authz-simple\",\"id\":\"auth1\",\"identity\":\"CN=alice,O=Strata\"}");
        assertEquals("Object with id 'auth0' is not TLS credentials", fails("nbd-server-start",
                "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + socket() + "\"}},\"tls-creds\":\"auth0\"}"));
        qmp("nbd-server-start", "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + socket() + "\"}},\"tls-creds\":\"tls0\","
                + "\"tls-authz\":\"auth0\"}");
        qmp("block-export-add", "{\"type\":\"nbd\",\"id\":\"disk\",\"node-name\":\"virtio0\"}");
        String plain = Oracle.run(true, "nbdinfo", "--size", "nbd+unix:///virtio0?socket=" + socket());
        assertFalse(plain.trim().equals(String.valueOf(SIZE)), "a plain client must not get the export: " + plain);
        String tls = "nbds+unix:///virtio0?socket=" + socket() + "&tls-certificates=" + pki.clientDir;
        assertEquals(String.valueOf(SIZE), Oracle.run("nbdinfo", "--size", tls).trim());

        qmp("nbd-server-stop");
        qmp("nbd-server-start", "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + socket() + "\"}},\"tls-creds\":\"tls0\","
                + "\"tls-authz\":\"auth1\"}");
        qmp("block-export-add", "{\"type\":\"nbd\",\"id\":\"disk\",\"node-name\":\"virtio0\"}");
        String denied = Oracle.run(true, "nbdinfo", "--size", tls);
        assertFalse(denied.trim().equals(String.valueOf(SIZE)), "QEMU's identity is in certificate order; RFC 2253 order is denied: " + denied);
    }
}
