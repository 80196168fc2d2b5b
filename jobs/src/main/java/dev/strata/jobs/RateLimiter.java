package dev.strata.jobs;

import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Bytes-per-second limit enforced per 100 ms slice, as QEMU's {@code ratelimit.h} does for block
 * jobs: work is accounted as it is dispatched; once a slice's quota is used up the caller is told
 * how long to wait until the (possibly extended) slice ends. A job that copies in chunks no
 * bigger than one slice's quota therefore advances smoothly.
 *
 * <p>Changing the speed restarts the accounting, so the new limit applies to the next chunk at
 * once. Any thread may call any method; state is guarded by {@code lock}.
 */
public final class RateLimiter {

    /** QEMU's BLOCK_JOB_SLICE_TIME. */
    public static final long SLICE_NANOS = 100_000_000L;

    private final ReentrantLock lock = new ReentrantLock();
    private final LongSupplier clock;
    private long speed;
    private long sliceStart;
    private long sliceEnd;
    private long dispatched;

    public RateLimiter() {
        this(System::nanoTime);
    }

    /** With an explicit nanosecond clock (tests). */
    public RateLimiter(LongSupplier clock) {
        this.clock = clock;
        this.sliceEnd = Long.MIN_VALUE;
    }

    /** Bytes per second; 0 = unlimited. */
    public void setSpeed(long bytesPerSecond) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("negative speed");
        }
        lock.lock();
        try {
            speed = bytesPerSecond;
            dispatched = 0;
            sliceEnd = Long.MIN_VALUE;
        } finally {
            lock.unlock();
        }
    }

    public long speed() {
        lock.lock();
        try {
            return speed;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes one slice may carry at the current speed (at least 1), or 0 when unlimited. */
    public long sliceQuota() {
        lock.lock();
        try {
            return quota();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Bytes per chunk for a rate-limited copy: about one slice's quota, within [{@code min},
     * {@code max}] and a multiple of {@code min}; {@code max} when unlimited.
     */
    public int chunkSize(int min, int max) {
        long quota = sliceQuota();
        if (quota == 0) {
            return max;
        }
        long c = Math.max(min, Math.min(max, quota));
        return (int) (c / min * min);
    }

    private long quota() {
        if (speed == 0) {
            return 0;
        }
        return Math.max(1, (long) ((double) speed * SLICE_NANOS / 1_000_000_000L));
    }

    /**
     * Accounts {@code bytes} just dispatched and returns how many nanoseconds the caller should
     * wait before dispatching more (0: go on).
     */
    public long consume(long bytes) {
        lock.lock();
        try {
            long q = quota();
            if (q == 0) {
                return 0;
            }
            long now = clock.getAsLong();
            if (sliceEnd == Long.MIN_VALUE || sliceEnd - now < 0) {
                sliceStart = now;
                sliceEnd = now + SLICE_NANOS;
                dispatched = 0;
            }
            dispatched += bytes;
            if (dispatched < q) {
                return 0;
            }
            double slices = dispatched / ((double) speed * SLICE_NANOS / 1_000_000_000L);
            sliceEnd = sliceStart + (long) (slices * SLICE_NANOS);
            return Math.max(0, sliceEnd - now);
        } finally {
            lock.unlock();
        }
    }
}
