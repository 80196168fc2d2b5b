package dev.strata.blockdrv.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.qcow2.Qemu;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code nbd} block driver (Strata as NBD client) against real servers: Strata's own
 * {@link NbdServer} in-process, {@code qemu-nbd} over a unix socket and TCP 127.0.0.1, and
 * {@code nbdkit memory}; data round trips, block status against {@code qemu-img map}, and a server
 * killed or restarted under I/O.
 */
@Timeout(60)
class NbdClientTest {

    @TempDir
    Path dir;
    final NbdFixture fx = new NbdFixture(null);
    final List<Process> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        fx.close();
        servers.forEach(Process::destroyForcibly);
    }

    BlockBackend open(String options) {
        BlockNode n = fx.graph.open(BlockOptions.parse(options, null));
        return fx.graph.createBackend("client" + fx.graph.hashCode() + System.nanoTime(), n, BlockBackend.CacheMode.WRITEBACK);
    }

    static ByteBuffer pattern(int len, int seed) {
        ByteBuffer b = ByteBuffer.allocate(len);
        for (int i = 0; i < len; i++) {
            b.put((byte) (i * 31 + seed + (i >> 9)));
        }
        return b.flip();
    }

    static byte[] read(BlockBackend be, long offset, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        be.read(offset, b);
        return b.array();
    }

    /** qemu-nbd serving {@code image} persistently on a unix socket, or on TCP 127.0.0.1 when {@code port > 0}. */
    Process qemuNbd(Path image, String format, Path socket, int port, boolean readOnly) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "-t", "-x", "disk", "-f", format));
        if (readOnly) {
            cmd.add("-r");
        }
        if (port > 0) {
            cmd.addAll(List.of("-b", "127.0.0.1", "-p", Integer.toString(port)));
        } else {
            cmd.addAll(List.of("-k", socket.toString()));
        }
        cmd.add(image.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        servers.add(p);
        waitListening(socket, port, p);
        return p;
    }

    static void waitListening(Path socket, int port, Process p) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (!p.isAlive()) {
                throw new AssertionError("NBD server exited with " + p.exitValue());
            }
            if (port > 0) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    return;
                } catch (IOException e) {
                    // not yet
                }
            } else if (Files.exists(socket)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("NBD server did not start listening");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void strataServerRoundTripsDataZeroesAndDiscards() {
        NbdFixture server = new NbdFixture(dir);
        try {
            BlockBackend exported = server.qcow2(16 << 20, true);
            server.startUnix(NbdServerOptions.plain()).addExport(NbdExport.builder("disk0", exported).writable(true).build());
            BlockBackend be = open("driver=nbd,server.type=unix,server.path=" + dir.resolve("nbd.sock") + ",export=disk0");
            assertEquals(16 << 20, be.size());
            assertEquals("nbd", be.root().driver().formatName());
            ByteBuffer data = pattern(3 << 20, 7);
            be.write(1000, data.duplicate()); // unaligned and larger than one cluster
            be.flush();
            assertArrayEquals(data.array(), read(be, 1000, 3 << 20));
            assertArrayEquals(data.array(), read(exported, 1000, 3 << 20));
            be.writeZeroes(1 << 20, 64 << 10, true);
            assertArrayEquals(new byte[64 << 10], read(exported, 1 << 20, 64 << 10));
            assertEquals(BlockStatus.State.ZERO, be.root().blockStatus(8 << 20, 1 << 20).state());
            assertEquals(BlockStatus.State.DATA, be.root().blockStatus(0, 1 << 20).state());
        } finally {
            server.close();
        }
    }

    @Test
    void manyRequestsInFlightOnOneConnection() throws Exception {
        NbdFixture server = new NbdFixture(dir);
        try {
            BlockBackend exported = server.qcow2(64 << 20, true);
            server.startUnix(NbdServerOptions.plain()).addExport(NbdExport.builder("disk0", exported).writable(true).build());
            BlockBackend be = open("file=nbd+unix:///disk0?socket=" + dir.resolve("nbd.sock") + ",format=raw");
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < 32; t++) {
                    int seed = t;
                    fs.add(ex.submit(() -> {
                        ByteBuffer d = pattern(256 << 10, seed);
                        be.write((long) seed << 21, d.duplicate());
                        assertArrayEquals(d.array(), read(be, (long) seed << 21, 256 << 10));
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(60, TimeUnit.SECONDS);
                }
            }
            for (int t = 0; t < 32; t++) {
                assertArrayEquals(pattern(256 << 10, t).array(), read(exported, (long) t << 21, 256 << 10));
            }
        } finally {
            server.close();
        }
    }

    /** The map of a sparse qcow2 served by qemu-nbd, through the client, equals qemu-img map's data runs. */
    @Test
    void blockStatusThroughQemuNbdMatchesQemuImgMap() throws Exception {
        Qemu.assumeTools();
        Path img = dir.resolve("sparse.qcow2");
        Qemu.img("create", "-q", "-f", "qcow2", img, "32M");
        Qemu.io(img, "write -P 0x11 0 1M", "write -z 4M 64k", "write -P 0x22 8M 512k", "write -P 0x33 31M 1M");
        String expected = dataRuns(Qemu.img("map", "--output=json", "-f", "qcow2", img));
        Path sock = dir.resolve("q.sock");
        qemuNbd(img, "qcow2", sock, 0, true);
        BlockBackend be = open("driver=nbd,server.type=unix,server.path=" + sock + ",export=disk,read-only=on");
        StringBuilder got = new StringBuilder();
        long runStart = 0;
        Boolean runData = null;
        for (long pos = 0; pos < be.size(); ) {
            BlockStatus s = be.root().blockStatus(pos, be.size() - pos);
            boolean isData = s.state() == BlockStatus.State.DATA;
            if (runData != null && runData != isData) {
                got.append(runStart).append('-').append(pos).append(runData ? " data\n" : " zero\n");
                runStart = pos;
            }
            runData = isData;
            pos = s.end();
        }
        got.append(runStart).append('-').append(be.size()).append(runData ? " data\n" : " zero\n");
        assertEquals(expected, got.toString());
        assertArrayEquals(Qemu.rawOf(img), read(be, 0, 32 << 20));
    }

    /** qemu-img map's JSON as runs of data / not data, merged. */
    static String dataRuns(String json) {
        Matcher m = Pattern.compile("\"start\": (\\d+), \"length\": (\\d+).*?\"data\": (true|false)").matcher(json);
        StringBuilder out = new StringBuilder();
        long runStart = 0;
        long end = 0;
        Boolean runData = null;
        while (m.find()) {
            long start = Long.parseLong(m.group(1));
            boolean data = m.group(3).equals("true");
            if (runData != null && runData != data) {
                out.append(runStart).append('-').append(start).append(runData ? " data\n" : " zero\n");
                runStart = start;
            }
            runData = data;
            end = start + Long.parseLong(m.group(2));
        }
        return out.append(runStart).append('-').append(end).append(runData ? " data\n" : " zero\n").toString();
    }

    /** Writes through the client over qemu-nbd (unix and TCP) make the served image equal the reference. */
    @Test
    void writesThroughQemuNbdMatchReferencePerQemuImgCompare() throws Exception {
        Qemu.assumeTools();
        Path ref = dir.resolve("ref.qcow2");
        Qemu.img("create", "-q", "-f", "qcow2", ref, "16M");
        Qemu.io(ref, "write -P 0x41 4096 3M", "write -P 0x42 10M 65536");
        for (boolean tcp : new boolean[] {false, true}) {
            Path img = dir.resolve("served" + tcp + ".qcow2");
            Qemu.img("create", "-q", "-f", "qcow2", img, "16M");
            Path sock = dir.resolve("w" + tcp + ".sock");
            int port = tcp ? freePort() : 0;
            Process p = qemuNbd(img, "qcow2", sock, port, false);
            BlockBackend be = open(tcp ? "file=nbd://127.0.0.1:" + port + "/disk,format=raw"
                    : "file=nbd:unix:" + sock + ":exportname=disk,format=raw");
            fill(be, 4096, 3 << 20, 0x41);
            fill(be, 10 << 20, 65536, 0x42);
            be.flush();
            fx.graph.closeAll();
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertTrue(Qemu.img("compare", ref, img).contains("Images are identical"), "tcp=" + tcp);
        }
    }

    static void fill(BlockBackend be, long offset, int len, int value) {
        ByteBuffer b = ByteBuffer.allocate(len);
        while (b.hasRemaining()) {
            b.put((byte) value);
        }
        be.write(offset, b.flip());
    }

    @Test
    void nbdkitMemoryRoundTrip() throws Exception {
        NbdInteropTest.assumeTool("nbdkit");
        Path sock = dir.resolve("k.sock");
        Process p = new ProcessBuilder("nbdkit", "-f", "-U", sock.toString(), "memory", "size=8M")
                .redirectErrorStream(true).redirectOutput(dir.resolve("nbdkit.log").toFile()).start();
        servers.add(p);
        waitListening(sock, 0, p);
        BlockBackend be = open("driver=nbd,server.type=unix,server.path=" + sock);
        assertEquals(8 << 20, be.size());
        ByteBuffer d = pattern(1 << 20, 3);
        be.write(512, d.duplicate());
        assertArrayEquals(d.array(), read(be, 512, 1 << 20));
        be.discard(4 << 20, 1 << 20);
        assertArrayEquals(new byte[4096], read(be, 6 << 20, 4096));
        assertEquals(BlockStatus.State.ZERO, be.root().blockStatus(6 << 20, 1 << 20).state());
    }

    /** A server killed under many requests in flight: every request ends with EIO, none hangs. */
    @Test
    void serverKilledMidIoFailsRequestsWithEio() throws Exception {
        Qemu.assumeTools();
        Path img = dir.resolve("big.raw");
        Qemu.img("create", "-q", "-f", "raw", img, "256M");
        Path sock = dir.resolve("kill.sock");
        Process p = qemuNbd(img, "raw", sock, 0, false);
        BlockBackend be = open("driver=nbd,server.type=unix,server.path=" + sock + ",export=disk");
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<BlockException>> fs = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int seed = t;
                fs.add(ex.submit(() -> {
                    try {
                        for (long i = 0; ; i++) {
                            be.write(((seed * 16 + i) % 256) << 20, pattern(1 << 20, seed));
                        }
                    } catch (BlockException e) {
                        return e;
                    }
                }));
            }
            Thread.sleep(300);
            p.destroyForcibly();
            for (Future<BlockException> f : fs) {
                BlockException e = f.get(30, TimeUnit.SECONDS);
                assertEquals(BlockException.Kind.IO, e.kind(), e.getMessage());
            }
        }
        BlockException after = assertThrows(BlockException.class, () -> read(be, 0, 4096));
        assertEquals(BlockException.Kind.IO, after.kind());
    }

    /** With reconnect-delay a request waits for the server to come back and then succeeds. */
    @Test
    void reconnectDelayRidesOutARestart() throws Exception {
        Qemu.assumeTools();
        Path img = dir.resolve("r.raw");
        Qemu.img("create", "-q", "-f", "raw", img, "8M");
        Path sock = dir.resolve("r.sock");
        Process p = qemuNbd(img, "raw", sock, 0, false);
        BlockBackend be = open("driver=nbd,server.type=unix,server.path=" + sock + ",export=disk,reconnect-delay=30");
        fill(be, 0, 65536, 0x5c);
        be.flush();
        p.destroyForcibly().waitFor();
        Files.deleteIfExists(sock);
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<byte[]> pending = ex.submit(() -> read(be, 0, 65536));
            Thread.sleep(500);
            assertTrue(!pending.isDone(), "the read waits for the reconnect");
            qemuNbd(img, "raw", sock, 0, false);
            byte[] got = pending.get(30, TimeUnit.SECONDS);
            byte[] want = new byte[65536];
            java.util.Arrays.fill(want, (byte) 0x5c);
            assertArrayEquals(want, got);
        }
    }

    /** Without reconnect-delay requests fail at once after a drop, and work again once the server is back. */
    @Test
    void noReconnectDelayFailsFastThenRecovers() throws Exception {
        Qemu.assumeTools();
        Path img = dir.resolve("n.raw");
        Qemu.img("create", "-q", "-f", "raw", img, "8M");
        Path sock = dir.resolve("n.sock");
        Process p = qemuNbd(img, "raw", sock, 0, false);
        BlockBackend be = open("driver=nbd,server.type=unix,server.path=" + sock + ",export=disk");
        read(be, 0, 4096);
        p.destroyForcibly().waitFor();
        Files.deleteIfExists(sock);
        assertEquals(BlockException.Kind.IO, assertThrows(BlockException.class, () -> read(be, 0, 4096)).kind());
        qemuNbd(img, "raw", sock, 0, false);
        for (int i = 0; ; i++) {
            try {
                read(be, 0, 4096);
                break;
            } catch (BlockException e) {
                if (i > 300) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
