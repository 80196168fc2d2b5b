package dev.strata.monitor.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.file.FileDriver;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** QMP blockdev-add: the node tree -blockdev would build, cache options included; QEMU's errors. */
class BlockdevAddTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private Path img;

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        monitor = machine.monitor();
        img = dir.resolve("t.qcow2");
        DriverRegistry.standard().require("qcow2").create(img, 1 << 20, BlockOptions.empty());
    }

    @AfterEach
    void tearDown() {
        machine.graph().closeAll();
    }

    private JsonNode qmp(String name, String args) throws Exception {
        return monitor.registry().invoke(name, (ObjectNode) JSON.readTree(args),
                new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    private String error(String args) {
        return assertThrows(CommandException.class, () -> qmp("blockdev-add", args)).desc();
    }

    @Test
    void addsTheNodeTreeWithItsCacheOptions() throws Exception {
        qmp("blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"t0\", \"file\": {\"driver\": \"file\", \"filename\": \"" + img
                + "\"}, \"cache\": {\"direct\": true, \"no-flush\": false}}");
        BlockNode n = machine.graph().node("t0");
        assertEquals("qcow2", n.formatName());
        assertTrue(n.cache().direct() && ((FileDriver) n.file().driver()).isDirect(), "the file child inherits cache.direct");
        JsonNode nodes = qmp("query-named-block-nodes", "{}");
        assertEquals("{\"writeback\":true,\"direct\":true,\"no-flush\":false}", nodes.get(0).get("cache").toString());
        Path other = dir.resolve("u.qcow2");
        DriverRegistry.standard().require("qcow2").create(other, 1 << 20, BlockOptions.empty());
        assertEquals("Duplicate nodes with node-name='t0'", error("{\"driver\": \"qcow2\", \"node-name\": \"t0\", "
                + "\"file\": {\"driver\": \"file\", \"filename\": \"" + other + "\"}}"));
    }

    /** An nbd node on an export of Strata's own NBD server, as QMP's SocketAddress object. */
    @Test
    void addsAnNbdNode() throws Exception {
        dev.strata.blockdrv.BlockNode exported = machine.graph().open(BlockOptions.parse("file=" + img + ",format=qcow2", null));
        dev.strata.blockdrv.BlockBackend be = machine.graph().createBackend("exp", exported,
                dev.strata.blockdrv.BlockBackend.CacheMode.WRITEBACK);
        Path sock = dir.resolve("nbd.sock");
        dev.strata.blockdrv.nbd.NbdServer server = dev.strata.blockdrv.nbd.NbdServer.start(
                dev.strata.blockdrv.nbd.NbdListenAddress.unix(sock), dev.strata.blockdrv.nbd.NbdServerOptions.plain());
        try {
            server.addExport(dev.strata.blockdrv.nbd.NbdExport.builder("disk", be).writable(true).build());
            qmp("blockdev-add", "{\"driver\": \"nbd\", \"node-name\": \"remote\", \"server\": {\"type\": \"unix\", \"path\": \""
                    + sock + "\"}, \"export\": \"disk\", \"reconnect-delay\": 2}");
            BlockNode n = machine.graph().node("remote");
            assertEquals("nbd", n.formatName());
            assertEquals(1 << 20, n.size());
            assertEquals("Requested export not available", error("{\"driver\": \"nbd\", \"node-name\": \"r2\", "
                    + "\"server\": {\"type\": \"unix\", \"path\": \"" + sock + "\"}, \"export\": \"nope\"}"));
            assertEquals("Parameter 'server' is missing", error("{\"driver\": \"nbd\", \"node-name\": \"r3\"}"));
            assertEquals("No TLS credentials with id 't0'", error("{\"driver\": \"nbd\", "
                    + "\"node-name\": \"r4\", \"server\": {\"type\": \"unix\", \"path\": \"" + sock + "\"}, \"tls-creds\": \"t0\"}"));
        } finally {
            machine.graph().closeAll();
            server.stop();
        }
    }

    @Test
    void refusesWhatQemuRefuses() {
        String file = "\"file\": {\"driver\": \"file\", \"filename\": \"" + img + "\"}";
        assertEquals("'node-name' must be specified for the root node", error("{\"driver\": \"qcow2\", " + file + "}"));
        assertEquals("Invalid parameter type for 'cache', expected: object",
                error("{\"driver\": \"qcow2\", \"node-name\": \"n1\", " + file + ", \"cache\": \"none\"}"));
        assertEquals("Invalid parameter type for 'cache.direct', expected: boolean",
                error("{\"driver\": \"qcow2\", \"node-name\": \"n1\", " + file + ", \"cache\": {\"direct\": \"yes\"}}"));
        assertEquals("Parameter 'cache.writeback' is unexpected",
                error("{\"driver\": \"qcow2\", \"node-name\": \"n1\", " + file + ", \"cache\": {\"writeback\": true}}"));
        assertEquals("Parameter 'bogus' is unexpected", error("{\"driver\": \"qcow2\", \"node-name\": \"n1\", \"bogus\": 1, " + file + "}"));
        Path none = dir.resolve("none/x.qcow2");
        assertEquals("Could not open '" + none + "': No such file or directory",
                error("{\"driver\": \"qcow2\", \"node-name\": \"n1\", \"file\": {\"driver\": \"file\", \"filename\": \"" + none + "\"}}"));
        assertEquals(null, machine.graph().node("n1"), "nothing was added");
    }
}
