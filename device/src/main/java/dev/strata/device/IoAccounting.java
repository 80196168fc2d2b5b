package dev.strata.device;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The live counters behind {@link BlockStats}, updated by a device's request threads. QEMU's
 * accounting rules ({@code block/accounting.c}): a completed request adds bytes, one operation and
 * its time; a failed one adds one failed operation and (account_failed) its time; an invalid one
 * adds one invalid operation. Write-zeroes counts as a write, discard as unmap.
 *
 * <p>Thread safety: any thread; every counter is an atomic, nothing allocates per request. A
 * {@link #snapshot()} taken during I/O may mix counters of in-progress completions (as QEMU's).
 */
public final class IoAccounting {

    /** The accounting class of a request. */
    public enum Type { READ, WRITE, FLUSH, UNMAP }

    private static final int BYTES = 0;
    private static final int OPS = 4;
    private static final int TIME = 8;
    private static final int FAILED = 12;
    private static final int INVALID = 16;

    private final AtomicLongArray counters = new AtomicLongArray(20);
    private final AtomicLong highestWriteEnd = new AtomicLong();
    private final AtomicLong lastAccessNanos = new AtomicLong();

    /** A request of {@code type} over {@code bytes} completed successfully after starting at {@code startNanos}. */
    public void done(Type type, long bytes, long startNanos) {
        int t = type.ordinal();
        long now = System.nanoTime();
        counters.addAndGet(BYTES + t, bytes);
        counters.incrementAndGet(OPS + t);
        counters.addAndGet(TIME + t, now - startNanos);
        lastAccessNanos.set(now);
    }

    /** A request of {@code type} completed with an error status. */
    public void failed(Type type, long startNanos) {
        int t = type.ordinal();
        long now = System.nanoTime();
        counters.incrementAndGet(FAILED + t);
        counters.addAndGet(TIME + t, now - startNanos);
        lastAccessNanos.set(now);
    }

    /** A request of {@code type} was rejected before reaching the block layer. */
    public void invalid(Type type) {
        counters.incrementAndGet(INVALID + type.ordinal());
        lastAccessNanos.set(System.nanoTime());
    }

    /** Records a write ending at byte {@code end} ({@code wr_highest_offset}). */
    public void wroteUpTo(long end) {
        highestWriteEnd.accumulateAndGet(end, Math::max);
    }

    public BlockStats snapshot() {
        long last = lastAccessNanos.get();
        long idle = last == 0 ? -1 : Math.max(0, System.nanoTime() - last);
        int r = Type.READ.ordinal();
        int w = Type.WRITE.ordinal();
        int f = Type.FLUSH.ordinal();
        int u = Type.UNMAP.ordinal();
        return new BlockStats(
                c(BYTES + r), c(BYTES + w), c(BYTES + u),
                c(OPS + r), c(OPS + w), c(OPS + f), c(OPS + u),
                c(TIME + r), c(TIME + w), c(TIME + f), c(TIME + u),
                0, 0, 0,
                highestWriteEnd.get(),
                c(FAILED + r), c(FAILED + w), c(FAILED + f), c(FAILED + u),
                c(INVALID + r), c(INVALID + w), c(INVALID + f), c(INVALID + u),
                idle, true, true);
    }

    private long c(int i) {
        return counters.get(i);
    }
}
