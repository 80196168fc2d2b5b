package dev.strata.jobs;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers for job copies, pooled. A heap buffer per chunk cost a 1 MiB allocation and
 * zero fill, and then the JDK copied it through a temporary direct buffer on every read and write;
 * a pooled direct buffer costs neither. The pool keeps at most {@link #KEEP} idle buffers (one per
 * copy thread of a few concurrent jobs); more are allocated when needed and left to the GC.
 *
 * <p>Threads: any; the queue is concurrent.
 */
public final class CopyBuffers {

    /** Size of every pooled buffer: the largest chunk any job copies at once. */
    public static final int SIZE = 1 << 20;
    private static final int KEEP = 32;
    private static final ConcurrentLinkedQueue<ByteBuffer> IDLE = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger IDLE_COUNT = new AtomicInteger();

    private CopyBuffers() {
    }

    /** A buffer with position 0 and limit {@code bytes} (at most {@link #SIZE}); give it back with {@link #release}. */
    public static ByteBuffer take(int bytes) {
        if (bytes > SIZE) {
            throw new IllegalArgumentException("copy buffer of " + bytes + " bytes; the most is " + SIZE);
        }
        ByteBuffer b = IDLE.poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect(SIZE);
        } else {
            IDLE_COUNT.decrementAndGet();
        }
        return b.clear().limit(bytes);
    }

    /** Returns a buffer from {@link #take}; the caller must not touch it afterwards. */
    public static void release(ByteBuffer b) {
        if (IDLE_COUNT.incrementAndGet() <= KEEP) {
            IDLE.offer(b);
        } else {
            IDLE_COUNT.decrementAndGet();
        }
    }
}
