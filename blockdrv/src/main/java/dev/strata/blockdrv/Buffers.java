package dev.strata.blockdrv;

import java.nio.ByteBuffer;

/** Small byte-buffer helpers the request path and drivers share. */
public final class Buffers {

    /** A zeroed direct buffer reused for zero fills; never written to. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    private Buffers() {
    }

    /** A write of {@code len} bytes at an offset; lets zero fills reuse any writer. */
    @FunctionalInterface
    public interface Writer {
        void write(long offset, ByteBuffer src);
    }

    /** Fills the remaining bytes of {@code dst} with zeros and advances its position to the limit. */
    public static void zero(ByteBuffer dst) {
        while (dst.hasRemaining()) {
            int n = Math.min(dst.remaining(), ZEROS.capacity());
            dst.put(ZEROS.duplicate().limit(n));
        }
    }

    /** True if every remaining byte is zero; does not move the position. */
    public static boolean isZero(ByteBuffer buf) {
        int p = buf.position();
        int lim = buf.limit();
        while (p + 8 <= lim) {
            if (buf.getLong(p) != 0) {
                return false;
            }
            p += 8;
        }
        while (p < lim) {
            if (buf.get(p++) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Writes {@code bytes} zero bytes through {@code w} in chunks of at most 1 MiB. */
    public static void writeZeroBuffers(Writer w, long offset, long bytes) {
        long pos = offset;
        long end = offset + bytes;
        while (pos < end) {
            int n = (int) Math.min(end - pos, ZEROS.capacity());
            w.write(pos, ZEROS.duplicate().limit(n));
            pos += n;
        }
    }
}
