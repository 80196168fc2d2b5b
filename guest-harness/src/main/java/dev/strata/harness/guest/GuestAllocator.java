package dev.strata.harness.guest;

import dev.strata.device.GuestMemory;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The guest's memory allocator: a bump allocator over guest memory (a synthetic guest sets up its
 * queues and buffers once and never frees). Allocations are aligned, so data buffers are
 * page-aligned like a real guest's.
 *
 * <p>Thread safety: any thread; the bump pointer is guarded by {@code lock}.
 */
public final class GuestAllocator {

    private final GuestMemory memory;
    private final ReentrantLock lock = new ReentrantLock();
    private long next;

    /** Allocates from {@code start} (leave low memory alone if you want it) to the end of memory. */
    public GuestAllocator(GuestMemory memory, long start) {
        this.memory = memory;
        this.next = start;
    }

    public GuestMemory memory() {
        return memory;
    }

    /** {@code bytes} of guest memory aligned to {@code align} (a power of two). */
    public GuestBuffer allocate(int bytes, int align) {
        lock.lock();
        try {
            long a = (next + align - 1) & -(long) align;
            if (!memory.contains(a, bytes)) {
                throw new IllegalStateException("guest memory exhausted: " + bytes + " bytes wanted, "
                        + (memory.size() - Math.min(a, memory.size())) + " left of " + memory.size());
            }
            next = a + bytes;
            return new GuestBuffer(a, bytes);
        } finally {
            lock.unlock();
        }
    }

    /** Bytes still free. */
    public long remaining() {
        lock.lock();
        try {
            return Math.max(0, memory.size() - next);
        } finally {
            lock.unlock();
        }
    }
}
