package dev.strata.blockdrv.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers for request payloads, reused so a 4 KiB request allocates nothing. Sizes are
 * rounded up to a power of two from 4 KiB to 32 MiB; each size class keeps at most
 * {@link #BYTES_PER_CLASS} bytes of idle buffers and all classes together at most
 * {@link #BYTES_TOTAL}, so the pool stays bounded whatever the clients do.
 *
 * <p>Why the class limit is as large as one client's byte budget: {@code nbdcopy} keeps 64 reads
 * of 256 KiB in flight (16 MiB); with a smaller limit every other read allocated a fresh direct
 * buffer, which costs a page fault and a page clear per 4 KiB and leaves the old one to the GC
 * (7 % of the server's CPU in a profile of a whole-export copy).
 * Lock-free; any thread.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12;
    private static final int MAX_SHIFT = 25;
    static final int BYTES_PER_CLASS = NbdTransmission.BYTE_BUDGET;
    static final long BYTES_TOTAL = 2L * NbdTransmission.BYTE_BUDGET;

    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] idle;
    private final AtomicLong idleTotal = new AtomicLong();

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
            idleTotal.addAndGet(-b.capacity());
        }
        return b.clear().limit(bytes);
    }

    /** Returns a buffer from {@link #take}; dropped when its class already holds enough. */
    void give(ByteBuffer b) {
        int c = sizeClass(b.capacity());
        int cap = b.capacity();
        boolean classRoom = idle[c].addAndGet(cap) <= Math.max(BYTES_PER_CLASS, cap);
        boolean totalRoom = idleTotal.addAndGet(cap) <= Math.max(BYTES_TOTAL, cap);
        if (classRoom && totalRoom) {
            free[c].offer(b);
        } else {
            idle[c].addAndGet(-cap);
            idleTotal.addAndGet(-cap);
        }
    }
}
