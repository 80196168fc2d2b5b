package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * A raw NBD client for tests: sends exactly the bytes a test asks for and parses what comes back,
 * so malformed and out-of-order messages can be sent on purpose. One thread at a time.
 */
final class NbdTestClient implements AutoCloseable {

    /** An option reply. */
    record OptReply(int opt, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }

        boolean isError() {
            return type < 0;
        }
    }

    /** A structured reply chunk. */
    record Chunk(int flags, int type, byte[] payload) {
        ByteBuffer buf() {
            return ByteBuffer.wrap(payload);
        }
    }

    /** A whole reply: simple (error + data) or the chunks of a structured one. */
    record Reply(long cookie, int error, byte[] data, List<Chunk> chunks) {
        String message() {
            for (Chunk c : chunks) {
                if ((c.type() & 0x8000) != 0) {
                    ByteBuffer b = c.buf();
                    b.getInt();
                    int n = b.getShort();
                    return new String(c.payload(), 6, n, StandardCharsets.UTF_8);
                }
            }
            return null;
        }
    }

    final SocketChannel channel;
    NbdTransport transport;
    final NbdInput in;
    int handshakeFlags;
    boolean structured;
    long size;
    int transmissionFlags;
    private final Map<Long, Integer> readLengths = new HashMap<>();
    private final Map<Long, List<Chunk>> partial = new HashMap<>();

    private NbdTestClient(SocketChannel ch) {
        this.channel = ch;
        this.transport = new PlainTransport(ch);
        this.in = new NbdInput(transport);
    }

    static NbdTestClient connect(SocketAddress a) throws IOException {
        SocketChannel ch = a instanceof UnixDomainSocketAddress ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        ch.connect(a);
        return new NbdTestClient(ch);
    }

    /** Connects, reads the greeting and sends fixed-newstyle + no-zeroes. */
    static NbdTestClient negotiating(SocketAddress a) throws IOException {
        NbdTestClient c = connect(a);
        c.greeting();
        c.sendInt(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        return c;
    }

    /** Connects, negotiates structured replies (optionally) and goes to {@code export}. */
    static NbdTestClient open(SocketAddress a, String export, boolean structured, String... contexts) throws IOException {
        NbdTestClient c = negotiating(a);
        if (structured) {
            c.expectAck(c.option(OPT_STRUCTURED_REPLY, new byte[0]));
            if (contexts.length > 0) {
                c.expectAck(c.option(OPT_SET_META_CONTEXT, metaData(export, contexts)));
            }
        }
        c.go(export);
        return c;
    }

    void greeting() throws IOException {
        ByteBuffer g = in.require(18);
        if (g.getLong() != NBDMAGIC || g.getLong() != IHAVEOPT) {
            throw new IOException("bad greeting");
        }
        handshakeFlags = g.getShort();
    }

    void sendInt(int v) throws IOException {
        transport.write(ByteBuffer.allocate(4).putInt(v).flip());
    }

    void sendRaw(byte[] b) throws IOException {
        transport.write(ByteBuffer.wrap(b));
    }

    void sendOption(int opt, byte[] data) throws IOException {
        transport.write(ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(opt).putInt(data.length).put(data).flip());
    }

    OptReply readOptReply() throws IOException {
        ByteBuffer h = in.require(20);
        if (h.getLong() != REPLY_MAGIC) {
            throw new IOException("bad option reply magic");
        }
        int opt = h.getInt();
        int type = h.getInt();
        int len = h.getInt();
        byte[] d = new byte[len];
        in.readFully(ByteBuffer.wrap(d));
        return new OptReply(opt, type, d);
    }

    /** Sends an option and collects replies up to the final ACK or error. */
    List<OptReply> option(int opt, byte[] data) throws IOException {
        sendOption(opt, data);
        List<OptReply> out = new ArrayList<>();
        while (true) {
            OptReply r = readOptReply();
            out.add(r);
            if (r.type() == REP_ACK || r.isError()) {
                if (opt == OPT_STRUCTURED_REPLY && r.type() == REP_ACK) {
                    structured = true;
                }
                return out;
            }
        }
    }

    void expectAck(List<OptReply> replies) throws IOException {
        OptReply last = replies.getLast();
        if (last.type() != REP_ACK) {
            throw new IOException("expected ACK, got 0x" + Integer.toHexString(last.type()) + " " + last.text());
        }
    }

    static byte[] goData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length).putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    static byte[] metaData(String export, String... queries) {
        byte[] n = export.getBytes(StandardCharsets.UTF_8);
        int len = 8 + n.length;
        for (String q : queries) {
            len += 4 + q.getBytes(StandardCharsets.UTF_8).length;
        }
        ByteBuffer b = ByteBuffer.allocate(len).putInt(n.length).put(n).putInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.putInt(qb.length).put(qb);
        }
        return b.array();
    }

    /** NBD_OPT_GO; reads size and flags from NBD_INFO_EXPORT. */
    List<OptReply> go(String export) throws IOException {
        List<OptReply> r = option(OPT_GO, goData(export));
        expectAck(r);
        for (OptReply o : r) {
            ByteBuffer b = ByteBuffer.wrap(o.data());
            if (o.type() == REP_INFO && b.getShort() == INFO_EXPORT) {
                size = b.getLong();
                transmissionFlags = b.getShort() & 0xffff;
            }
        }
        return r;
    }

    /** STARTTLS, then a TLS handshake as client. */
    void startTls(SSLContext ctx) throws IOException {
        expectAck(option(OPT_STARTTLS, new byte[0]));
        SSLEngine e = ctx.createSSLEngine();
        e.setUseClientMode(true);
        TlsTransport t = new TlsTransport(channel, e, new ReentrantLock(), in.takeBuffered());
        in.use(t);
        transport = t;
        t.handshake();
    }

    void sendRequest(int flags, int type, long cookie, long offset, long length, byte[] data) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(REQUEST_HEADER).putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putLong(offset).putInt((int) length).flip();
        if (type == CMD_READ) {
            readLengths.put(cookie, (int) length);
        }
        if (data == null) {
            transport.write(h);
        } else {
            transport.write(h, ByteBuffer.wrap(data));
        }
    }

    /** Reads until some request's reply is complete and returns it (replies may come in any order). */
    Reply nextReply() throws IOException {
        while (true) {
            int magic = in.readInt();
            if (magic == SIMPLE_REPLY_MAGIC) {
                int err = in.readInt();
                long cookie = in.readLong();
                Integer len = readLengths.remove(cookie);
                byte[] data = new byte[err == 0 && len != null ? len : 0];
                in.readFully(ByteBuffer.wrap(data));
                return new Reply(cookie, err, data, List.of());
            }
            if (magic != STRUCTURED_REPLY_MAGIC) {
                throw new IOException("bad reply magic 0x" + Integer.toHexString(magic));
            }
            ByteBuffer h = in.require(16);
            int flags = h.getShort() & 0xffff;
            int type = h.getShort() & 0xffff;
            long cookie = h.getLong();
            int len = h.getInt();
            byte[] p = new byte[len];
            in.readFully(ByteBuffer.wrap(p));
            List<Chunk> chunks = partial.computeIfAbsent(cookie, k -> new ArrayList<>());
            chunks.add(new Chunk(flags, type, p));
            if ((flags & REPLY_FLAG_DONE) != 0) {
                partial.remove(cookie);
                readLengths.remove(cookie);
                int err = 0;
                for (Chunk c : chunks) {
                    if ((c.type() & 0x8000) != 0) {
                        err = c.buf().getInt();
                    }
                }
                return new Reply(cookie, err, assemble(chunks), chunks);
            }
        }
    }

    /** The bytes of a structured read, holes filled with zeros, relative to the lowest offset seen. */
    private static byte[] assemble(List<Chunk> chunks) {
        long base = Long.MAX_VALUE;
        long end = 0;
        for (Chunk c : chunks) {
            if (c.type() == REPLY_TYPE_OFFSET_DATA || c.type() == REPLY_TYPE_OFFSET_HOLE) {
                ByteBuffer b = c.buf();
                long off = b.getLong();
                long len = c.type() == REPLY_TYPE_OFFSET_DATA ? c.payload().length - 8 : Integer.toUnsignedLong(b.getInt());
                base = Math.min(base, off);
                end = Math.max(end, off + len);
            }
        }
        if (base == Long.MAX_VALUE) {
            return new byte[0];
        }
        byte[] out = new byte[(int) (end - base)];
        for (Chunk c : chunks) {
            if (c.type() == REPLY_TYPE_OFFSET_DATA) {
                long off = c.buf().getLong();
                System.arraycopy(c.payload(), 8, out, (int) (off - base), c.payload().length - 8);
            }
        }
        return out;
    }

    Reply request(int flags, int type, long offset, long length, byte[] data) throws IOException {
        long cookie = System.nanoTime();
        sendRequest(flags, type, cookie, offset, length, data);
        Reply r = nextReply();
        if (r.cookie() != cookie) {
            throw new IOException("reply for another cookie");
        }
        return r;
    }

    byte[] read(long offset, int length) throws IOException {
        Reply r = request(0, CMD_READ, offset, length, null);
        if (r.error() != 0) {
            throw new IOException("read failed: errno " + r.error() + " " + r.message());
        }
        return r.data();
    }

    void write(long offset, byte[] data) throws IOException {
        Reply r = request(0, CMD_WRITE, offset, data.length, data);
        if (r.error() != 0) {
            throw new IOException("write failed: errno " + r.error() + " " + r.message());
        }
    }

    void disconnect() throws IOException {
        sendRequest(0, CMD_DISC, 0, 0, 0, null);
        close();
    }

    /**
     * True once the server has closed its side (end of stream, or the connection was reset); what it
     * sent before closing (a TLS alert, say) is skipped, up to 64 KiB.
     */
    boolean serverClosed() {
        try {
            for (int i = 0; i < 65536; i++) {
                if (in.next(1) == null) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
