package dev.strata.harness.guest;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A fixed-bucket log-linear latency histogram in the manner of HdrHistogram: values (nanoseconds)
 * below 64 get a bucket each; above, every power-of-two range is split into 32 equal sub-buckets,
 * so any recorded value is reported within about 3% (the bucket's upper edge). Covers 0 to
 * 2^63-1 ns with 1,888 buckets and never allocates when recording.
 *
 * <p>Thread safety: {@link #record} from any thread (atomic counters); {@link #drainInto} reads and
 * zeroes atomically per bucket, so a concurrent record lands in this interval or the next, never
 * lost. Percentile queries on a histogram being recorded into see a consistent-enough snapshot for
 * live figures.
 */
public final class LatencyHistogram {

    private static final int SUB_BITS = 5;
    private static final int SUB = 1 << SUB_BITS;
    private static final int LINEAR = SUB * 2;
    private static final int BUCKETS = LINEAR + (63 - SUB_BITS - 1) * SUB;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    static int bucketOf(long value) {
        if (value < LINEAR) {
            return (int) Math.max(0, value);
        }
        int msb = 63 - Long.numberOfLeadingZeros(value);
        int shift = msb - SUB_BITS;
        int sub = (int) ((value >>> shift) & (SUB - 1));
        return LINEAR + (msb - SUB_BITS - 1) * SUB + sub;
    }

    /** The largest value that falls into {@code bucket} (what percentiles report). */
    static long upperEdgeOf(int bucket) {
        if (bucket < LINEAR) {
            return bucket;
        }
        int b = bucket - LINEAR;
        int msb = b / SUB + SUB_BITS + 1;
        int sub = b % SUB;
        int shift = msb - SUB_BITS;
        long low = ((long) (SUB + sub)) << shift;
        return low + (1L << shift) - 1;
    }

    /** Counts one value (negative values count as 0). */
    public void record(long valueNs) {
        counts.incrementAndGet(bucketOf(valueNs));
    }

    /** Moves every count of this histogram into {@code target}, leaving this one empty. */
    public void drainInto(LatencyHistogram target) {
        for (int i = 0; i < BUCKETS; i++) {
            long c = counts.getAndSet(i, 0);
            if (c != 0) {
                target.counts.addAndGet(i, c);
            }
        }
    }

    /** Adds every count of {@code other} to this one (other unchanged). */
    public void add(LatencyHistogram other) {
        for (int i = 0; i < BUCKETS; i++) {
            long c = other.counts.get(i);
            if (c != 0) {
                counts.addAndGet(i, c);
            }
        }
    }

    public void reset() {
        for (int i = 0; i < BUCKETS; i++) {
            counts.set(i, 0);
        }
    }

    public long count() {
        long n = 0;
        for (int i = 0; i < BUCKETS; i++) {
            n += counts.get(i);
        }
        return n;
    }

    /**
     * The value at percentile {@code p} (0..100]: the upper edge of the bucket holding the
     * ceil(p% of count)-th value. 0 when empty.
     */
    public long percentile(double p) {
        long total = count();
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(p / 100.0 * total));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts.get(i);
            if (seen >= rank) {
                return upperEdgeOf(i);
            }
        }
        return upperEdgeOf(BUCKETS - 1);
    }

    /** Largest recorded value (bucket upper edge), 0 when empty. */
    public long max() {
        for (int i = BUCKETS - 1; i >= 0; i--) {
            if (counts.get(i) != 0) {
                return upperEdgeOf(i);
            }
        }
        return 0;
    }

    /** Mean of the bucket midpoints, 0 when empty. */
    public double mean() {
        long n = 0;
        double sum = 0;
        for (int i = 0; i < BUCKETS; i++) {
            long c = counts.get(i);
            if (c != 0) {
                long hi = upperEdgeOf(i);
                long lo = i == 0 ? 0 : upperEdgeOf(i - 1) + 1;
                sum += c * ((lo + hi) / 2.0);
                n += c;
            }
        }
        return n == 0 ? 0 : sum / n;
    }
}
