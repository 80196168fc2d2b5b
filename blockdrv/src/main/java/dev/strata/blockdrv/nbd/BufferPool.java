package dev.strata.blockdrv.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers for request payloads, reused so a 4 KiB request allocates nothing. Sizes are
 * rounded up to a power of two from 4 KiB to 32 MiB; each size class keeps at most
 * {@link #BYTES_PER_CLASS} bytes of idle buffers, so the pool stays bounded whatever the clients do.
 * Lock-free; any thread.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12;
    private static final int MAX_SHIFT = 25;
    static final int BYTES_PER_CLASS = 8 << 20;

    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] idle;

    @SuppressWarnings("unchecked")
    BufferPool() {
        int classes = MAX_SHIFT - MIN_SHIFT + 1;
        free = new ConcurrentLinkedQueue[classes];
        idle = new AtomicInteger[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ConcurrentLinkedQueue<>();
            idle[i] = new AtomicInteger();
        }
    }

    private static int sizeClass(int bytes) {
        int shift = 32 - Integer.numberOfLeadingZeros(Math.max(bytes, 1) - 1);
        return Math.max(shift, MIN_SHIFT) - MIN_SHIFT;
    }

    /** A direct buffer with position 0 and limit {@code bytes} (at most 32 MiB). */
    ByteBuffer take(int bytes) {
        int c = sizeClass(bytes);
        ByteBuffer b = free[c].poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect(1 << (c + MIN_SHIFT));
        } else {
            idle[c].addAndGet(-b.capacity());
        }
        return b.clear().limit(bytes);
    }

    /** Returns a buffer from {@link #take}; dropped when its class already holds enough. */
    void give(ByteBuffer b) {
        int c = sizeClass(b.capacity());
        if (idle[c].addAndGet(b.capacity()) <= Math.max(BYTES_PER_CLASS, b.capacity())) {
            free[c].offer(b);
        } else {
            idle[c].addAndGet(-b.capacity());
        }
    }
}
