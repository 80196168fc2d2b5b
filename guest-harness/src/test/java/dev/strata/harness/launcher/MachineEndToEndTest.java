package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.monitor.qmp.QmpTestClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole machines from real command lines, in-process, driven the way a lab script drives QEMU:
 * the demo machine over its QMP socket, from greeting to {@code quit}.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MachineEndToEndTest {

    @TempDir
    Path dir;

    private static void waitFor(Path p) throws InterruptedException {
        for (int i = 0; i < 3000 && !Files.exists(p); i++) {
            Thread.sleep(20);
        }
        assertTrue(Files.exists(p), p + " never appeared");
    }

    @Test
    void demoMachineOverQmpFromGreetingToQuit() throws Exception {
        Path folder = dir.resolve("demo");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        // stdin that never ends: the machine must end through QMP's quit, not end of input
        java.io.PipedOutputStream keepOpen = new java.io.PipedOutputStream();
        java.io.PipedInputStream stdin = new java.io.PipedInputStream(keepOpen);
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() ->
                new Launcher(stdin, new PrintStream(out, true), new PrintStream(err, true)).runDemo(folder));
        Path socket = DemoMachine.qmpSocket(folder);
        waitFor(socket);
        try (QmpTestClient q = QmpTestClient.connect(socket)) {
            String greeting = q.line();
            assertTrue(greeting.startsWith("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}"), greeting);
            assertEquals("{\"return\": {}}", q.call("{\"execute\": \"qmp_capabilities\"}"));
            String st = q.call("{\"execute\": \"query-status\"}");
            assertTrue(st.contains("\"status\": \"running\""), st);
            String hmp = q.call("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info block-jobs\"}, \"id\": 7}");
            assertTrue(hmp.contains("No active jobs\\r\\n") && hmp.contains("\"id\": 7"), hmp);
            String blocks = q.call("{\"execute\": \"query-block\"}");
            assertTrue(blocks.contains("\"device\": \"virtio0\"") && blocks.contains("\"node-name\": \"node-E\""), blocks);
            String info = q.call("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info block\"}}");
            assertTrue(info.startsWith("{\"return\": \"virtio0 (node-E): " + DemoMachine.image(folder, 'E') + " (qcow2)\\r\\n"), info);
            assertEquals("{\"return\": {}}", q.call("{\"execute\": \"quit\"}"));
        }
        assertEquals(0, status.get(60, TimeUnit.SECONDS), err.toString());
        assertTrue(out.toString().contains("QMP:     " + socket), out.toString());
        assertTrue(!Files.exists(socket), "the socket is removed on quit");
        keepOpen.close();
    }

    @Test
    void hmpOnAUnixSocketLikeQemusReadlineMonitor() throws Exception {
        Path img = dir.resolve("a.img");
        Files.write(img, new byte[1 << 20]);
        Path hmp = dir.resolve("vm.hmp");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() ->
                new Launcher(new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream(), true),
                        new PrintStream(err, true)).runMachine(List.of("-nodefaults", "-S",
                        "-drive", "file=" + img + ",format=raw,if=virtio",
                        "-chardev", "socket,id=hmp0,path=" + hmp + ",server=on,wait=off", "-mon", "chardev=hmp0,mode=readline")));
        waitFor(hmp);
        try (SocketChannel c = QmpTestClient.socketWhenListening(hmp)) {
            InputStream in = Channels.newInputStream(c);
            OutputStream out = Channels.newOutputStream(c);
            out.write("info status\ninfo block-jobs\nnosuch\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            StringBuilder got = new StringBuilder();
            int c0;
            String expectedEnd = "unknown command: 'nosuch'\r\n(qemu) ";
            while (!got.toString().endsWith(expectedEnd) && (c0 = in.read()) >= 0) {
                got.append((char) c0);
            }
            assertEquals("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) info status\r\nVM status: paused (prelaunch)\r\n"
                    + "(qemu) info block-jobs\r\nNo active jobs\r\n(qemu) nosuch\r\n" + expectedEnd, got.toString());
            out.write("quit\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            StringBuilder echo = new StringBuilder();
            while (!echo.toString().endsWith("\n") && (c0 = in.read()) >= 0) {
                echo.append((char) c0);
            }
            assertEquals("quit\r\n", echo.toString());
        }
        assertEquals(0, status.get(60, TimeUnit.SECONDS), err.toString());
    }

    @Test
    void qmpBindFailureNamesTheOption() throws Exception {
        Path img = dir.resolve("a.img");
        Files.write(img, new byte[1 << 20]);
        String qmp = "unix:" + dir.resolve("no/such/dir/q.sock") + ",server=on,wait=off";
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
                () -> new Launcher(new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()),
                        new PrintStream(new ByteArrayOutputStream())).runMachine(List.of("-drive", "file=" + img + ",format=raw,if=virtio",
                        "-qmp", qmp)));
        assertEquals("strata: -qmp " + qmp + ": Failed to bind socket to " + dir.resolve("no/such/dir/q.sock")
                + ": No such file or directory", e.line());
    }
}
