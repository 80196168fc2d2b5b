package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.strata.blockdrv.BlockBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated NBD sessions against a live server: plausible handshakes and requests with bytes
 * flipped, fields replaced, messages cut short or padded with noise. The server must neither
 * crash nor stall: every session ends (the client half-closes and reads to the end), a control
 * client keeps being served, a neighbouring export keeps its bytes, and the fuzzed image stays
 * its size.
 *
 * <p>Fixed seed, a few seconds in CI. Longer: {@code -Dnbd.fuzz.sessions=20000 -Dnbd.fuzz.seed=N}.
 */
@Timeout(600)
class NbdFuzzTest {

    static final long SIZE = 4 << 20;
    static final int STREAMS = 4;

    @TempDir
    Path dir;

    final AtomicLong bytesSent = new AtomicLong();
    final AtomicLong bytesReceived = new AtomicLong();
    final AtomicLong writesRefused = new AtomicLong();
    final AtomicLong mutated = new AtomicLong();

    @Test
    void mutatedSessionsNeitherCrashNorStallTheServer() throws Exception {
        long seed = Long.getLong("nbd.fuzz.seed", 16);
        int sessions = Integer.getInteger("nbd.fuzz.sessions", 600);
        try (NbdFixture fx = new NbdFixture(dir)) {
            BlockBackend fuzzed = fx.qcow2(SIZE, true);
            BlockBackend neighbour = fx.qcow2(1 << 20, true);
            NbdFixture.fill(neighbour, 0, 1 << 20, 0xab);
            byte[] neighbourBytes = new byte[1 << 20];
            neighbour.read(0, ByteBuffer.wrap(neighbourBytes));
            NbdServer s = fx.startUnix(NbdServerOptions.plain());
            NbdFixture.TestBitmap bitmap = new NbdFixture.TestBitmap("b0", SIZE);
            bitmap.mark(0, 1 << 20);
            s.addExport(NbdExport.builder("fuzz", fuzzed).writable(true).bitmap(bitmap).allocationDepth(true).build());
            s.addExport(NbdExport.builder("neighbour", neighbour).build());
            NbdTestClient control = NbdTestClient.open(s.localAddress(), "neighbour", true);

            long started = System.nanoTime();
            List<Thread> streams = new ArrayList<>();
            List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int t = 0; t < STREAMS; t++) {
                Random rnd = new Random(seed * 31 + t);
                int count = sessions / STREAMS;
                streams.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < count; i++) {
                            session(s.localAddress(), rnd);
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            int checks = 0;
            while (streams.stream().anyMatch(Thread::isAlive)) {
                assertArrayEquals(neighbourBytes, control.read(0, 1 << 20), "neighbour export changed");
                checks++;
                streams.getFirst().join(50);
            }
            for (Thread t : streams) {
                t.join();
            }
            if (!failures.isEmpty()) {
                throw new AssertionError("fuzz session failed", failures.getFirst());
            }
            assertArrayEquals(neighbourBytes, control.read(0, 1 << 20));
            control.disconnect();
            while (s.connectionCount() > 0) {
                Thread.sleep(10);
            }
            assertEquals(0, s.internalErrors(), "server failures that were not the client's fault (see the log)");
            assertEquals(SIZE, fuzzed.size());
            byte[] after = new byte[1 << 20];
            neighbour.read(0, ByteBuffer.wrap(after));
            assertArrayEquals(neighbourBytes, after);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            System.out.printf("nbd fuzz: seed %d, %d sessions (%d mutated), %d bytes sent, %d bytes received, "
                    + "%d sessions whose input the server refused part of, %d control reads, %d ms%n",
                    seed, sessions / STREAMS * STREAMS, mutated.get(), bytesSent.get(), bytesReceived.get(), writesRefused.get(), checks, ms);
        }
    }

    /** One session: send the (maybe mutated) bytes, half-close, read until the server closes. */
    private void session(SocketAddress address, Random rnd) throws Exception {
        byte[] script = mutate(script(rnd), rnd);
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(address);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    ch.write(ByteBuffer.wrap(script));
                    ch.shutdownOutput();
                } catch (IOException e) {
                    writesRefused.incrementAndGet();
                }
            });
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            long got = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                buf.clear();
                int n;
                try {
                    n = ch.read(buf);
                } catch (IOException e) {
                    break;
                }
                if (n < 0) {
                    break;
                }
                got += n;
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("server stalled on a session of " + script.length + " bytes");
                }
            }
            writer.join();
            bytesSent.addAndGet(script.length);
            bytesReceived.addAndGet(got);
        }
    }

    private byte[] mutate(byte[] s, Random rnd) {
        if (rnd.nextInt(5) == 0 || s.length == 0) {
            return s;
        }
        mutated.incrementAndGet();
        byte[] out = s;
        int kinds = 1 + rnd.nextInt(3);
        for (int k = 0; k < kinds; k++) {
            switch (rnd.nextInt(5)) {
                case 0 -> {
                    for (int i = 0, n = 1 + rnd.nextInt(4); i < n; i++) {
                        out[rnd.nextInt(out.length)] ^= (byte) (1 << rnd.nextInt(8));
                    }
                }
                case 1 -> out = java.util.Arrays.copyOf(out, rnd.nextInt(out.length + 1));
                case 2 -> {
                    int at = rnd.nextInt(out.length + 1);
                    byte[] noise = new byte[1 + rnd.nextInt(40)];
                    rnd.nextBytes(noise);
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    b.write(out, 0, at);
                    b.writeBytes(noise);
                    b.write(out, at, out.length - at);
                    out = b.toByteArray();
                }
                case 3 -> {
                    if (out.length >= 4) {
                        int at = rnd.nextInt(out.length - 3);
                        ByteBuffer.wrap(out, at, 4).putInt(interesting(rnd));
                    }
                }
                default -> {
                    if (out.length > 0) {
                        out[rnd.nextInt(out.length)] = (byte) rnd.nextInt(256);
                    }
                }
            }
            if (out.length == 0) {
                break;
            }
        }
        return out;
    }

    private static int interesting(Random rnd) {
        int[] v = {0, 1, -1, 0x7fffffff, 0x80000000, MAX_BUFFER, MAX_BUFFER + 1, 4096, (int) SIZE, 65536, 0x1000_0000};
        return rnd.nextBoolean() ? v[rnd.nextInt(v.length)] : rnd.nextInt();
    }

    /** A plausible session: flags, some options, usually GO, then requests and maybe DISC. */
    private byte[] script(Random rnd) {
        ByteBuffer b = ByteBuffer.allocate(1 << 20);
        b.putInt(rnd.nextInt(8) == 0 ? rnd.nextInt(4) : FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        boolean structured = false;
        for (int i = 0, n = rnd.nextInt(5); i < n; i++) {
            int opt = new int[] {OPT_LIST, OPT_INFO, OPT_STRUCTURED_REPLY, OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT, OPT_STARTTLS, 42}[rnd.nextInt(7)];
            byte[] data = switch (opt) {
                case OPT_INFO -> NbdTestClient.goData(rnd.nextBoolean() ? "fuzz" : "neighbour", INFO_NAME, INFO_BLOCK_SIZE, 7);
                case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> NbdTestClient.metaData("fuzz", CTX_BASE_ALLOCATION,
                        "qemu:", "qemu:dirty-bitmap:b0", CTX_ALLOCATION_DEPTH);
                default -> new byte[rnd.nextInt(10) == 0 ? 3 : 0];
            };
            structured |= opt == OPT_STRUCTURED_REPLY;
            b.putLong(IHAVEOPT).putInt(opt).putInt(data.length).put(data);
        }
        int ending = rnd.nextInt(10);
        if (ending == 0) {
            b.putLong(IHAVEOPT).putInt(OPT_ABORT).putInt(0);
            return done(b);
        }
        if (ending == 1) {
            byte[] n = "fuzz".getBytes(StandardCharsets.UTF_8);
            b.putLong(IHAVEOPT).putInt(OPT_EXPORT_NAME).putInt(n.length).put(n);
        } else {
            byte[] go = NbdTestClient.goData("fuzz");
            b.putLong(IHAVEOPT).putInt(OPT_GO).putInt(go.length).put(go);
        }
        for (int i = 0, n = rnd.nextInt(12); i < n && b.remaining() > 70000; i++) {
            int type = rnd.nextInt(12) == 0 ? rnd.nextInt(16) : new int[] {CMD_READ, CMD_WRITE, CMD_FLUSH, CMD_TRIM, CMD_CACHE,
                    CMD_WRITE_ZEROES, CMD_BLOCK_STATUS}[rnd.nextInt(7)];
            long offset = switch (rnd.nextInt(4)) {
                case 0 -> SIZE - rnd.nextInt(8192);
                case 1 -> rnd.nextLong();
                default -> rnd.nextLong(SIZE);
            };
            int length = rnd.nextInt(6) == 0 ? interesting(rnd) : rnd.nextInt(65536);
            int flags = rnd.nextInt(4) == 0 ? rnd.nextInt(1 << 16) : rnd.nextInt(4) == 0 ? CMD_FLAG_FUA : 0;
            if (!structured && type == CMD_READ) {
                flags &= ~CMD_FLAG_DF;
            }
            b.putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(i).putLong(offset).putInt(length);
            if (type == CMD_WRITE && Integer.toUnsignedLong(length) <= 65536) {
                byte[] data = new byte[length];
                rnd.nextBytes(data);
                b.put(data);
            }
        }
        if (rnd.nextBoolean()) {
            b.putInt(REQUEST_MAGIC).putShort((short) 0).putShort((short) CMD_DISC).putLong(99).putLong(0).putInt(0);
        }
        return done(b);
    }

    private static byte[] done(ByteBuffer b) {
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }
}
