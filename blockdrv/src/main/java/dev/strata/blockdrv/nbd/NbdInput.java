package dev.strata.blockdrv.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Buffered big-endian reads from a transport, so a request header costs no system call of its own
 * when several requests arrive together. Used by the connection's reader thread only.
 */
final class NbdInput {

    private NbdTransport transport;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(128 << 10).flip();

    NbdInput(NbdTransport transport) {
        this.transport = transport;
    }

    /** Hands back (and forgets) the bytes buffered but not consumed yet. */
    ByteBuffer takeBuffered() {
        ByteBuffer rest = ByteBuffer.allocate(buf.remaining());
        rest.put(buf).flip();
        return rest;
    }

    /** Reads from another transport from now on (after STARTTLS). */
    void use(NbdTransport next) {
        transport = next;
    }

    /** True when the peer has sent bytes not consumed yet (the reader must not block to learn it). */
    boolean hasBuffered() {
        return buf.hasRemaining();
    }

    /** Makes sure {@code n} bytes (at most the buffer size) are buffered; false on a clean end of stream before any. */
    private boolean fill(int n) throws IOException {
        if (buf.remaining() >= n) {
            return true;
        }
        buf.compact();
        try {
            while (buf.position() < n) {
                if (transport.read(buf) < 0) {
                    if (buf.position() == 0) {
                        return false;
                    }
                    throw new EOFException("connection closed in the middle of a message");
                }
            }
        } finally {
            buf.flip();
        }
        return true;
    }

    /** Reads exactly {@code n} bytes and returns them as a view valid until the next read; null at a clean end of stream. */
    ByteBuffer next(int n) throws IOException {
        if (!fill(n)) {
            return null;
        }
        ByteBuffer view = buf.slice(buf.position(), n);
        buf.position(buf.position() + n);
        return view;
    }

    ByteBuffer require(int n) throws IOException {
        ByteBuffer b = next(n);
        if (b == null) {
            throw new EOFException("connection closed");
        }
        return b;
    }

    int readInt() throws IOException {
        return require(4).getInt();
    }

    long readLong() throws IOException {
        return require(8).getLong();
    }

    /** Fills {@code dst} completely. */
    void readFully(ByteBuffer dst) throws IOException {
        if (buf.hasRemaining()) {
            int n = Math.min(buf.remaining(), dst.remaining());
            dst.put(buf.slice(buf.position(), n));
            buf.position(buf.position() + n);
        }
        while (dst.hasRemaining()) {
            if (dst.remaining() >= buf.capacity() / 2) {
                if (transport.read(dst) < 0) {
                    throw new EOFException("connection closed in the middle of a payload");
                }
            } else {
                if (!fill(1)) {
                    throw new EOFException("connection closed in the middle of a payload");
                }
                int n = Math.min(buf.remaining(), dst.remaining());
                dst.put(buf.slice(buf.position(), n));
                buf.position(buf.position() + n);
            }
        }
    }

    /** Reads and drops {@code n} bytes. */
    void skip(long n) throws IOException {
        while (n > 0) {
            if (!fill(1)) {
                throw new EOFException("connection closed in the middle of a payload");
            }
            int k = (int) Math.min(buf.remaining(), n);
            buf.position(buf.position() + k);
            n -= k;
        }
    }
}
