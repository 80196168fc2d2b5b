package dev.strata.monitor.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class QmpServerTest {

    static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
            + "\"package\": \"Strata 0.1.0\"}, \"capabilities\": [\"oob\"]}}";

    @TempDir
    Path dir;
    TestMachine machine;
    Monitor monitor;
    QmpServer server;

    @BeforeEach
    void start() throws Exception {
        machine = new TestMachine(dir);
        monitor = machine.monitor();
        server = QmpServer.start(monitor, dir.resolve("vm.qmp"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    QmpTestClient connect() throws Exception {
        QmpTestClient c = QmpTestClient.connect(server.path());
        assertEquals(GREETING, c.line());
        return c;
    }

    QmpTestClient negotiated() throws Exception {
        QmpTestClient c = connect();
        assertEquals("{\"return\": {}}", c.call("{\"execute\": \"qmp_capabilities\"}"));
        return c;
    }

    @Test
    void greetingNegotiationAndSocketMode() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(server.path())));
        try (QmpTestClient c = connect()) {
            assertEquals("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation with 'qmp_capabilities'\"}}",
                    c.call("{\"execute\":\"query-status\"}"));
            assertEquals("{\"id\": 7, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation with 'qmp_capabilities'\"}}",
                    c.call("{\"execute\":\"nosuch\", \"id\": 7}"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'null' does not accept value 'bogus'\"}}",
                    c.call("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"bogus\"]}}"));
            assertEquals("{\"return\": {}}", c.call("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}"));
            assertEquals("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is already complete, command ignored\"}}",
                    c.call("{\"execute\":\"qmp_capabilities\"}"));
            assertEquals("{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}, \"id\": 1}",
                    c.call("{\"execute\":\"query-status\",\"id\":1}"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"The command query-status does not support OOB\"}}",
                    c.call("{\"exec-oob\":\"query-status\"}"));
        }
    }

    @Test
    void idsAreEchoedWhateverTheirType() throws Exception {
        try (QmpTestClient c = negotiated()) {
            assertEquals("{\"return\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Strata 0.1.0\"}, \"id\": \"abc\"}",
                    c.call("{\"execute\":\"query-version\",\"id\":\"abc\"}"));
            assertEquals("{\"return\": [], \"id\": {\"a\": [1, 2.5, true, null]}}",
                    c.call("{\"execute\":\"query-block-jobs\", \"id\": {\"a\":[1,2.5,true,null]}}"));
            assertEquals("{\"id\": 5, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member 'execute'\"}}", c.call("{\"id\":5}"));
        }
    }

    @Test
    void malformedInputGetsErrorsAndTheConnectionStays() throws Exception {
        try (QmpTestClient c = negotiated()) {
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}", c.call("{\"execute\": }"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}", c.call("[\"not\", \"an\", \"object\"]"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}}",
                    c.call("{\"execute\": \"query-status\", \"arguments\": [1]}"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec' is unexpected\"}}", c.call("{\"exec\": \"query-status\"}"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' must be a string\"}}", c.call("{\"execute\": 1}"));
            assertEquals("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nosuch-command has not been found\"}}",
                    c.call("{\"execute\": \"nosuch-command\"}"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'command-line' is missing\"}}",
                    c.call("{\"execute\": \"human-monitor-command\", \"arguments\": {}}"));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'cpu-index', expected: integer\"}}",
                    c.call("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info status\", \"cpu-index\": \"x\"}}"));
            c.send("foo ");
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword 'foo'\"}}", c.call("{'execute':'query-status'}"));
            assertTrue(c.reply().startsWith("{\"return\": {\"status\""), "single quotes are QEMU JSON");
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u0001'\"}}", c.call("\u0001"));
            // split across writes, and two documents on one line
            c.send("{\"execute\":");
            c.send("\"query-status\"}{\"execute\":\"query-status\"}\n");
            assertTrue(c.reply().startsWith("{\"return\""));
            assertTrue(c.reply().startsWith("{\"return\""));
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON nesting depth limit exceeded\"}}", c.call("[".repeat(1100)));
            c.send("{\"execute\": \"query-status\", \"arguments\": {\"x\": \"" + "a".repeat(QmpSession.MAX_MESSAGE) + "\"}}\n");
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON token size limit exceeded\"}}", c.reply());
            assertTrue(c.call("{\"execute\":\"query-status\"}").startsWith("{\"return\""), "still connected");
        }
    }

    @Test
    void eventsReachEveryNegotiatedClient() throws Exception {
        try (QmpTestClient a = negotiated(); QmpTestClient b = negotiated(); QmpTestClient pending = connect()) {
            assertEquals("{\"return\": {}}", a.call("{\"execute\": \"cont\"}"));
            String ev = b.line();
            assertTrue(ev.matches("\\{\"timestamp\": \\{\"seconds\": \\d+, \"microseconds\": \\d+}, \"event\": \"RESUME\"}"), ev);
            assertEquals("{\"return\": {}}", b.call("{\"execute\": \"stop\"}"));
            // the client's lines in arrival order: its own cont's RESUME (the reply was taken), then b's STOP
            assertTrue(a.line().contains("\"event\": \"RESUME\""));
            assertTrue(a.line().contains("\"event\": \"STOP\""));
            // the client that has not negotiated sees no events: its next line is the reply
            assertTrue(pending.call("{\"execute\":\"qmp_capabilities\"}").equals("{\"return\": {}}"));
            assertEquals("{\"return\": {}}", a.call("{\"execute\": \"stop\"}"), "stop while paused: no event");
            com.fasterxml.jackson.databind.node.ObjectNode d = dev.strata.monitor.Json.object();
            d.put("status", "created");
            d.put("id", "job0");
            monitor.events().emit("JOB_STATUS_CHANGE", d);
            assertTrue(pending.line().endsWith("\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"status\": \"created\", \"id\": \"job0\"}}"));
        }
    }

    @Test
    void vanishedClientsDoNotDisturbOthers() throws Exception {
        try (QmpTestClient a = negotiated()) {
            for (int i = 0; i < 20; i++) {
                QmpTestClient gone = negotiated();
                gone.send("{\"execute\": \"query-status\"}\n{\"execute\": \"query-blo");
                gone.close();
            }
            for (int i = 0; i < 50; i++) {
                monitor.events().emit("X_TEST", null);
            }
            assertEquals("{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}}",
                    a.call("{\"execute\":\"query-status\"}"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (server.clientCount() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(1, server.clientCount());
        }
    }

    @Test
    void humanMonitorCommandAndQuit() throws Exception {
        try (QmpTestClient c = negotiated()) {
            assertEquals("{\"return\": \"VM status: paused (prelaunch)\\r\\n\"}",
                    c.call("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"}}"));
            assertEquals("{\"return\": \"unknown command: 'nosuch\\u00E9\\u0001'\\r\\n\"}",
                    c.call("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"nosuch\\u00e9\\u0001\"}}"));
            assertEquals("{\"return\": {}}", c.call("{\"execute\":\"quit\"}"));
            String ev = c.line();
            assertTrue(ev.endsWith("\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}"), ev);
            assertTrue(machine.quitLatch().await(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void queryCommandsListsTheRegistry() throws Exception {
        try (QmpTestClient c = negotiated()) {
            String r = c.call("{\"execute\":\"query-commands\"}");
            for (String name : new String[] {"query-version", "query-status", "stop", "cont", "quit", "human-monitor-command", "qmp_capabilities"}) {
                assertTrue(r.contains("{\"name\": \"" + name + "\"}"), name);
            }
        }
    }

    @Test
    void closedServerRemovesItsSocket() throws Exception {
        server.close();
        assertTrue(!Files.exists(server.path()));
        assertNull(null);
    }
}
