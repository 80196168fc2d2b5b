package dev.strata.jobs.mirror;

import java.util.BitSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Mirror's per-granule state: which granules of the source may still differ from the target
 * ({@code dirty}), which a background copy is working on ({@code copying}), which a guest write
 * in write-blocking mode is carrying to the target right now ({@code claimed}), and which the
 * job has ever written on the target ({@code touched}, so a target known to read zeros need not
 * be sent zeros where nothing was written yet).
 *
 * <p>A granule is copying or claimed by one party at a time: a background copy never reads a
 * granule while a guest write is between the source and the target, and a guest write waits for
 * a background copy of its granules to land before it touches the source, so the target always
 * receives the newest data last.
 *
 * <p>Any thread; all state guarded by {@code lock}; waiters use {@code changed}.
 */
final class MirrorBitmap {

    /** A run of granules handed to a background copy. */
    record Run(long offset, int bytes) {
    }

    /** Granules {@code [from, to)} held by one guest write. */
    record Claim(int from, int to) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final BitSet dirty = new BitSet();
    private final BitSet copying = new BitSet();
    private final BitSet claimed = new BitSet();
    private final BitSet touched = new BitSet();
    private final long size;
    private final int granularity;
    private final int granules;
    private int cursor;

    MirrorBitmap(long size, int granularity) {
        if (Integer.bitCount(granularity) != 1) {
            throw new IllegalArgumentException("granularity must be a power of two");
        }
        this.size = size;
        this.granularity = granularity;
        this.granules = (int) ((size + granularity - 1) / granularity);
    }

    int granularity() {
        return granularity;
    }

    long size() {
        return size;
    }

    private int first(long offset) {
        return (int) (offset / granularity);
    }

    private int end(long offset, long bytes) {
        return (int) Math.min(granules, (offset + bytes + granularity - 1) / granularity);
    }

    /** Marks every granule touching {@code [offset, offset+bytes)} dirty. */
    void markDirty(long offset, long bytes) {
        if (bytes <= 0) {
            return;
        }
        lock.lock();
        try {
            dirty.set(first(offset), end(offset, bytes));
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next dirty run no one is working on (at most {@code maxBytes}), now copying and no
     * longer dirty; null when there is none. Round-robin, so a hot area cannot starve the rest.
     */
    Run take(int maxBytes) {
        int max = Math.max(1, maxBytes / granularity);
        lock.lock();
        try {
            int start = nextFree(cursor);
            if (start < 0) {
                start = nextFree(0);
            }
            if (start < 0) {
                return null;
            }
            int stop = start;
            while (stop < granules && stop - start < max && dirty.get(stop) && !busy(stop)) {
                stop++;
            }
            dirty.clear(start, stop);
            copying.set(start, stop);
            cursor = stop;
            long off = (long) start * granularity;
            return new Run(off, (int) (Math.min(size, (long) stop * granularity) - off));
        } finally {
            lock.unlock();
        }
    }

    private boolean busy(int g) {
        return copying.get(g) || claimed.get(g);
    }

    private int nextFree(int from) {
        int i = dirty.nextSetBit(from);
        while (i >= 0 && busy(i)) {
            i = dirty.nextSetBit(i + 1);
        }
        return i;
    }

    /** The background copy of {@code run} is over; when it failed its granules are dirty again. */
    void finish(Run run, boolean failed, boolean wroteTarget) {
        int from = first(run.offset());
        int to = end(run.offset(), run.bytes());
        lock.lock();
        try {
            copying.clear(from, to);
            if (failed) {
                dirty.set(from, to);
            }
            if (wroteTarget) {
                touched.set(from, to);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until no granule of {@code [offset, offset+bytes)} is copying or claimed, then claims them. */
    Claim claim(long offset, long bytes) {
        int from = first(offset);
        int to = end(offset, Math.max(1, bytes));
        lock.lock();
        try {
            while (overlapsBusy(from, to)) {
                changed.awaitUninterruptibly();
            }
            claimed.set(from, to);
            return new Claim(from, to);
        } finally {
            lock.unlock();
        }
    }

    private boolean overlapsBusy(int from, int to) {
        int c = copying.nextSetBit(from);
        if (c >= 0 && c < to) {
            return true;
        }
        int k = claimed.nextSetBit(from);
        return k >= 0 && k < to;
    }

    /** Ends a guest write's claim; marks {@code [offset, offset+bytes)} dirty first when asked. */
    void release(Claim c, long offset, long bytes, boolean dirtyToo) {
        lock.lock();
        try {
            if (dirtyToo && bytes > 0) {
                dirty.set(first(offset), end(offset, bytes));
            }
            claimed.clear(c.from(), c.to());
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * For a claimed guest write of {@code [offset, end)}: the part to carry to the target now,
     * as {start, end}, or null for none. A partly written granule that is dirty is left out (the
     * rest of it is stale on the target; the background copy sends it whole later); one that is
     * clean is sent, which keeps it clean. Granules the result covers whole are no longer dirty.
     */
    long[] throughRange(long offset, long end) {
        lock.lock();
        try {
            long start = offset;
            if (start % granularity != 0 && dirty.get(first(start))) {
                start = (start / granularity + 1) * granularity;
            }
            long stop = end;
            if (stop % granularity != 0 && stop != size && dirty.get(first(stop - 1))) {
                stop = stop / granularity * granularity;
            }
            if (start >= stop) {
                return null;
            }
            int wholeFrom = (int) ((start + granularity - 1) / granularity);
            int wholeTo = stop == size ? granules : (int) (stop / granularity);
            if (wholeFrom < wholeTo) {
                dirty.clear(wholeFrom, wholeTo);
            }
            touched.set(first(start), end(start, stop - start));
            return new long[] {start, stop};
        } finally {
            lock.unlock();
        }
    }

    /** True when the job has written nothing on the target in {@code [offset, offset+bytes)}. */
    boolean untouched(long offset, long bytes) {
        lock.lock();
        try {
            int t = touched.nextSetBit(first(offset));
            return t < 0 || t >= end(offset, bytes);
        } finally {
            lock.unlock();
        }
    }

    /** Bytes dirty and not being copied. */
    long dirtyBytes() {
        lock.lock();
        try {
            return (long) dirty.cardinality() * granularity;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes handed to background copies and not finished. */
    long copyingBytes() {
        lock.lock();
        try {
            return (long) copying.cardinality() * granularity;
        } finally {
            lock.unlock();
        }
    }

    /** Nothing dirty and no background copy under way (guest writes being carried through do not count). */
    boolean isClean() {
        lock.lock();
        try {
            return dirty.isEmpty() && copying.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code nanos} for a change (new dirt, a finished copy, a released claim). */
    void awaitChange(long nanos) {
        lock.lock();
        try {
            changed.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }
}
