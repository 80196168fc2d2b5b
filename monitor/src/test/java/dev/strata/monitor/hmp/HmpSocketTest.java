package dev.strata.monitor.hmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** HMP over a unix socket, byte for byte: banner, prompt, echo, \r\n line ends, async lines, quit. */
@Timeout(60)
class HmpSocketTest {

    @TempDir
    Path dir;
    TestMachine machine;
    Monitor monitor;
    HmpSocketServer server;

    @BeforeEach
    void setUp() throws Exception {
        machine = new TestMachine(dir);
        Path raw = dir.resolve("R.img");
        try (var f = new java.io.RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        machine.addDrive("virtio0", raw, "raw");
        monitor = machine.monitor();
        server = HmpSocketServer.start(monitor, dir.resolve("vm.hmp"));
    }

    @AfterEach
    void tearDown() {
        server.close();
        machine.graph().closeAll();
    }

    /** Reads until the text ends with the prompt (or the connection closes). */
    static String untilPrompt(SocketChannel c) throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(8192);
        while (!got.toString(StandardCharsets.UTF_8).endsWith("(qemu) ")) {
            b.clear();
            int n = c.read(b);
            if (n < 0) {
                break;
            }
            got.write(b.array(), 0, n);
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    static void send(SocketChannel c, String s) throws Exception {
        c.write(ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
    }

    SocketChannel connect() throws Exception {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(server.path()));
        return c;
    }

    @Test
    void sessionLineByLine() throws Exception {
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(server.path())));
        try (SocketChannel c = connect()) {
            assertEquals("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ", untilPrompt(c));
            send(c, "info status\r\n");
            assertEquals("info status\r\nVM status: paused (prelaunch)\r\n(qemu) ", untilPrompt(c));
            send(c, "block_job_set_speed virtio0 -1\n");
            assertEquals("block_job_set_speed virtio0 -1\r\ninvalid size\r\nTry \"help block_job_set_speed\" for more information\r\n(qemu) ", untilPrompt(c));
            send(c, "info block -x\r\n");
            assertEquals("info block -x\r\nblock: unsupported option -x\r\nTry \"help info block\" for more information\r\n(qemu) ", untilPrompt(c));
            send(c, "\n");
            assertEquals("\r\n(qemu) ", untilPrompt(c));
            send(c, "info block\n");
            String out = untilPrompt(c).replaceAll("#block\\d+", "#blockN");
            assertEquals("info block\r\nvirtio0 (#blockN): " + dir + "/R.img (raw)\r\n"
                    + "    Attached to:      /machine/peripheral-anon/device[0]/virtio-backend\r\n"
                    + "    Cache mode:       writeback\r\n(qemu) ", out);
            monitor.events().printAsync("a job finished");
            send(c, "qemu-io virtio0 \"write -P 0x5a 0 64k\"\n");
            String io = untilPrompt(c);
            assertTrue(io.startsWith("a job finished\r\n") || io.contains("\r\na job finished\r\n") || io.contains("a job finished\r\n"), io);
            assertTrue(io.contains("wrote 65536/65536 bytes at offset 0\r\n64 KiB, 1 ops; "), io);
            send(c, "quit\n");
            assertEquals("quit\r\n", untilPrompt(c));
            assertTrue(machine.quitLatch().await(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void twoClientsAndAVanishedOne() throws Exception {
        try (SocketChannel a = connect(); SocketChannel b = connect()) {
            untilPrompt(a);
            untilPrompt(b);
            SocketChannel gone = connect();
            send(gone, "info blo");
            gone.close();
            send(a, "stop\n");
            untilPrompt(a);
            send(b, "cont\n");
            assertEquals("cont\r\n(qemu) ", untilPrompt(b));
            send(b, "info status\n");
            assertEquals("info status\r\nVM status: running\r\n(qemu) ", untilPrompt(b));
        }
    }
}
