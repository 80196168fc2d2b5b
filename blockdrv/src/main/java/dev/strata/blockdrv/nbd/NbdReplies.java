package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Encodes replies (simple, or structured chunks) and sends each as one gathering write under the
 * transport's write lock. Called from request threads concurrently; holds no mutable state.
 */
final class NbdReplies {

    private final NbdTransport transport;
    private final boolean structured;
    /** Header buffers on the hot paths come from here: direct, so the socket write copies nothing. */
    private final BufferPool buffers;

    NbdReplies(NbdTransport transport, boolean structured, BufferPool buffers) {
        this.transport = transport;
        this.structured = structured;
        this.buffers = buffers;
    }

    boolean structured() {
        return structured;
    }

    static ByteBuffer simpleHeader(long cookie, int error) {
        return ByteBuffer.allocate(SIMPLE_REPLY_HEADER).putInt(SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie).flip();
    }

    static ByteBuffer chunkHeader(ByteBuffer into, long cookie, boolean done, int type, int length) {
        return into.putInt(STRUCTURED_REPLY_MAGIC).putShort((short) (done ? REPLY_FLAG_DONE : 0)).putShort((short) type)
                .putLong(cookie).putInt(length);
    }

    /** Success without data: a simple reply (also when structured replies are on, as QEMU does). */
    void ok(long cookie) throws IOException {
        ByteBuffer h = buffers.take(SIMPLE_REPLY_HEADER);
        try {
            transport.write(h.putInt(SIMPLE_REPLY_MAGIC).putInt(0).putLong(cookie).flip());
        } finally {
            buffers.give(h);
        }
    }

    /** Success of a zero-length read in structured mode: one NONE chunk. */
    void none(long cookie) throws IOException {
        transport.write(chunkHeader(ByteBuffer.allocate(STRUCTURED_REPLY_HEADER), cookie, true, REPLY_TYPE_NONE, 0).flip());
    }

    /** A failure: an error chunk carrying {@code message} when structured, else a simple reply. */
    void error(long cookie, int errno, String message) throws IOException {
        if (!structured) {
            transport.write(simpleHeader(cookie, errno));
            return;
        }
        byte[] msg = message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(msg.length, 4096);
        ByteBuffer b = ByteBuffer.allocate(STRUCTURED_REPLY_HEADER + 6 + len);
        chunkHeader(b, cookie, true, REPLY_TYPE_ERROR, 6 + len).putInt(errno).putShort((short) len).put(msg, 0, len);
        transport.write(b.flip());
    }

    /** A whole read's data in one piece (simple reply, or one OFFSET_DATA chunk). */
    void data(long cookie, long offset, ByteBuffer data) throws IOException {
        ByteBuffer h = buffers.take(STRUCTURED_REPLY_HEADER + 8);
        try {
            if (structured) {
                chunkHeader(h, cookie, true, REPLY_TYPE_OFFSET_DATA, 8 + data.remaining()).putLong(offset);
            } else {
                h.putInt(SIMPLE_REPLY_MAGIC).putInt(0).putLong(cookie);
            }
            transport.write(h.flip(), data);
        } finally {
            buffers.give(h);
        }
    }

    /** A piece of a sparse read: data (with {@code data} non-null) or a hole of {@code length} bytes. */
    record Piece(long offset, int length, ByteBuffer data) {
    }

    /** A sparse read as OFFSET_DATA and OFFSET_HOLE chunks, the last one marked done, in one write. */
    void sparse(long cookie, List<Piece> pieces) throws IOException {
        ByteBuffer[] bufs = new ByteBuffer[pieces.size() * 2];
        int n = 0;
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            boolean done = i == pieces.size() - 1;
            if (p.data() == null) {
                ByteBuffer h = ByteBuffer.allocate(STRUCTURED_REPLY_HEADER + 12);
                chunkHeader(h, cookie, done, REPLY_TYPE_OFFSET_HOLE, 12).putLong(p.offset()).putInt(p.length());
                bufs[n++] = h.flip();
            } else {
                ByteBuffer h = ByteBuffer.allocate(STRUCTURED_REPLY_HEADER + 8);
                chunkHeader(h, cookie, done, REPLY_TYPE_OFFSET_DATA, 8 + p.length()).putLong(p.offset());
                bufs[n++] = h.flip();
                bufs[n++] = p.data();
            }
        }
        ByteBuffer[] exact = n == bufs.length ? bufs : java.util.Arrays.copyOf(bufs, n);
        transport.write(exact);
    }

    /** BLOCK_STATUS chunks, one per context, already encoded as (context id, descriptors...). */
    void blockStatus(long cookie, List<ByteBuffer> payloads) throws IOException {
        ByteBuffer[] bufs = new ByteBuffer[payloads.size() * 2];
        for (int i = 0; i < payloads.size(); i++) {
            ByteBuffer p = payloads.get(i);
            bufs[2 * i] = chunkHeader(ByteBuffer.allocate(STRUCTURED_REPLY_HEADER), cookie, i == payloads.size() - 1,
                    REPLY_TYPE_BLOCK_STATUS, p.remaining()).flip();
            bufs[2 * i + 1] = p;
        }
        transport.write(bufs);
    }
}
