package dev.strata.blockdrv;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Small byte-buffer helpers the request path and drivers share, and a pool of direct buffers
 * for copies ({@link #lease}).
 *
 * <p>Why a pool: the file channel copies a heap buffer through a temporary native buffer on
 * every read and write, so a copy (a job's piece, copy-on-read, copy-on-write) is cheapest in a
 * direct buffer; allocating a direct buffer per request is slow (zeroed, freed by a cleaner),
 * and a per-thread buffer would cost 1 MiB per virtual thread. Thread safety: every method may
 * be called from any thread; the pool's free list is guarded by {@code POOL_LOCK}.
 */
public final class Buffers {

    /** Size of every pooled buffer: the largest piece a block job copies. */
    public static final int POOL_BUFFER_SIZE = 1 << 20;
    /**
     * Every leased buffer starts on this boundary (a page), so a file opened with O_DIRECT can
     * read into and write from it without a bounce copy. Direct buffers from the JDK are only
     * 8 or 16 bytes aligned.
     */
    public static final int ALIGNMENT = 4096;
    /** At most this many idle buffers are kept (32 MiB); more are left to the collector. */
    private static final int POOL_MAX_IDLE = 32;

    /** A zeroed direct buffer reused for zero fills; never written to. */
    private static final ByteBuffer ZEROS = allocateAligned(1 << 20).asReadOnlyBuffer();
    private static final ReentrantLock POOL_LOCK = new ReentrantLock();
    private static final ArrayDeque<ByteBuffer> POOL = new ArrayDeque<>();

    private Buffers() {
    }

    /**
     * A direct buffer borrowed for one request: {@link #buffer()} has position 0 and limit =
     * the size asked for. Close it (try-with-resources) when the I/O is done; the buffer must
     * not be used after that. One lease is for one thread at a time.
     */
    public static final class Lease implements AutoCloseable {
        private final ByteBuffer whole;
        private final ByteBuffer view;
        private boolean closed;

        Lease(ByteBuffer whole, int bytes) {
            this.whole = whole;
            this.view = whole.slice(0, bytes);
        }

        /** The borrowed bytes: a view of exactly the size asked for. */
        public ByteBuffer buffer() {
            return view;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                giveBack(whole);
            }
        }
    }

    /**
     * Borrows a direct buffer of {@code bytes} bytes (its content is whatever the last user left).
     * Up to {@link #POOL_BUFFER_SIZE} it comes from the shared pool; larger ones are allocated
     * and dropped on close.
     */
    public static Lease lease(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative buffer size " + bytes);
        }
        if (bytes > POOL_BUFFER_SIZE) {
            return new Lease(allocateAligned(bytes), bytes);
        }
        ByteBuffer b;
        POOL_LOCK.lock();
        try {
            b = POOL.pollFirst();
        } finally {
            POOL_LOCK.unlock();
        }
        return new Lease(b != null ? b : allocateAligned(POOL_BUFFER_SIZE), bytes);
    }

    /** A new direct buffer of exactly {@code bytes} whose first byte is {@link #ALIGNMENT}-aligned. */
    private static ByteBuffer allocateAligned(int bytes) {
        // alignedSlice also rounds the end down: ask for whole blocks plus the worst-case skip
        int whole = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        return ByteBuffer.allocateDirect(whole + ALIGNMENT - 1).alignedSlice(ALIGNMENT).slice(0, bytes);
    }

    /**
     * True when {@code buf} is direct, its position's address is a multiple of {@code alignment}
     * (a power of two) and its remaining length too: what O_DIRECT needs from a buffer.
     */
    public static boolean isAligned(ByteBuffer buf, int alignment) {
        return buf.isDirect() && buf.remaining() % alignment == 0 && buf.alignmentOffset(buf.position(), alignment) == 0;
    }

    private static void giveBack(ByteBuffer b) {
        if (b.capacity() != POOL_BUFFER_SIZE) {
            return;
        }
        POOL_LOCK.lock();
        try {
            if (POOL.size() < POOL_MAX_IDLE) {
                POOL.addFirst(b); // most recently used first: its pages are likely still warm
            }
        } finally {
            POOL_LOCK.unlock();
        }
    }

    /** Idle buffers in the pool now (tests). */
    static int pooledIdle() {
        POOL_LOCK.lock();
        try {
            return POOL.size();
        } finally {
            POOL_LOCK.unlock();
        }
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
