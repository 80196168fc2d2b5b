package dev.strata.blockdrv.nbd.client;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that negotiates and then drops every connection on its first request: with
 * {@code reconnect-delay} the client re-sends only within the delay and then fails with EIO,
 * never looping for ever.
 */
@Timeout(60)
class NbdFlappingServerTest {

    @TempDir
    Path dir;

    @Test
    void aServerThatDropsEveryConnectionEndsInEio() throws Exception {
        Path sock = dir.resolve("flap.sock");
        AtomicInteger connections = new AtomicInteger();
        try (ServerSocketChannel ss = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ss.bind(UnixDomainSocketAddress.of(sock));
            Thread server = Thread.ofVirtual().start(() -> {
                while (true) {
                    try (SocketChannel c = ss.accept()) {
                        connections.incrementAndGet();
                        serveUntilFirstRequest(c);
                    } catch (IOException e) {
                        if (!ss.isOpen()) {
                            return;
                        }
                    }
                }
            });
            BlockGraph g = new BlockGraph();
            try {
                BlockNode n = g.open(BlockOptions.parse("driver=nbd,server.type=unix,server.path=" + sock + ",reconnect-delay=1", null));
                assertEquals(1 << 20, n.size());
                BlockException e = assertThrows(BlockException.class, () -> n.read(0, ByteBuffer.allocate(4096)));
                assertEquals(BlockException.Kind.IO, e.kind(), e.getMessage());
                assertTrue(e.getMessage().startsWith("Connection to the NBD server"), e.getMessage());
                assertTrue(connections.get() >= 2, "the request was re-sent on a new connection: " + connections.get());
            } finally {
                g.closeAll();
                ss.close();
                server.join(5000);
            }
        }
    }

    /** Fixed newstyle without structured replies; NBD_OPT_GO answers a 1 MiB export; then reads one request header and returns. */
    private static void serveUntilFirstRequest(SocketChannel c) throws IOException {
        write(c, ByteBuffer.allocate(18).putLong(NBDMAGIC).putLong(IHAVEOPT).putShort((short) (FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)).flip());
        read(c, 4);
        while (true) {
            ByteBuffer h = read(c, 16);
            h.getLong();
            int opt = h.getInt();
            read(c, h.getInt());
            if (opt == OPT_GO) {
                write(c, reply(opt, REP_INFO, ByteBuffer.allocate(12).putShort((short) INFO_EXPORT).putLong(1 << 20)
                        .putShort((short) (TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH)).flip()));
                write(c, reply(opt, REP_ACK, ByteBuffer.allocate(0)));
                read(c, REQUEST_HEADER);
                return;
            }
            write(c, reply(opt, REP_ERR_UNSUP, ByteBuffer.allocate(0)));
        }
    }

    private static ByteBuffer reply(int opt, int type, ByteBuffer data) {
        return ByteBuffer.allocate(20 + data.remaining()).putLong(REPLY_MAGIC).putInt(opt).putInt(type)
                .putInt(data.remaining()).put(data).flip();
    }

    private static ByteBuffer read(SocketChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("eof");
            }
        }
        return b.flip();
    }

    private static void write(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            c.write(b);
        }
    }
}
