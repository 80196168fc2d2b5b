package dev.strata.jobs;

import java.util.BitSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Which {@code granularity}-sized pieces of a disk still need copying, plus which are being
 * copied right now: mirror's and active commit's record of guest writes. A piece being copied is
 * never handed out twice, so two copies of one piece can never race on the target; a piece made
 * dirty again while in flight is simply copied once more afterwards.
 *
 * <p>Any thread; state guarded by {@code lock}. Writers call {@link #markDirty} after their
 * write completed; the job takes work with {@link #take}.
 */
public final class DirtyBitmap {

    /** A run of pieces handed out for copying. */
    public record Run(long offset, int bytes) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final BitSet dirty = new BitSet();
    private final BitSet inFlight = new BitSet();
    private final long size;
    private final int granularity;
    private int cursor;

    public DirtyBitmap(long size, int granularity) {
        if (Integer.bitCount(granularity) != 1) {
            throw new IllegalArgumentException("granularity must be a power of two");
        }
        this.size = size;
        this.granularity = granularity;
    }

    public int granularity() {
        return granularity;
    }

    private int pieces() {
        return (int) ((size + granularity - 1) / granularity);
    }

    /** Marks every piece touching {@code [offset, offset+bytes)} dirty. */
    public void markDirty(long offset, long bytes) {
        if (bytes <= 0) {
            return;
        }
        int from = (int) (offset / granularity);
        int to = (int) Math.min(pieces(), (offset + bytes + granularity - 1) / granularity);
        lock.lock();
        try {
            dirty.set(from, to);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes the next dirty run not in flight (at most {@code maxBytes}), clearing it and marking
     * it in flight; null when there is none. Scans round-robin so a busy area cannot starve the rest.
     */
    public Run take(int maxBytes) {
        int maxPieces = Math.max(1, maxBytes / granularity);
        lock.lock();
        try {
            int start = nextTakeable(cursor);
            if (start < 0) {
                start = nextTakeable(0);
            }
            if (start < 0) {
                return null;
            }
            int end = start;
            while (end < pieces() && end - start < maxPieces && dirty.get(end) && !inFlight.get(end)) {
                end++;
            }
            dirty.clear(start, end);
            inFlight.set(start, end);
            cursor = end;
            long off = (long) start * granularity;
            long len = Math.min(size, (long) end * granularity) - off;
            return new Run(off, (int) len);
        } finally {
            lock.unlock();
        }
    }

    private int nextTakeable(int from) {
        int i = dirty.nextSetBit(from);
        while (i >= 0 && inFlight.get(i)) {
            i = dirty.nextSetBit(i + 1);
        }
        return i;
    }

    /** The copy of {@code run} is over; when it failed, its pieces are dirty again. */
    public void finish(Run run, boolean failed) {
        int from = (int) (run.offset() / granularity);
        int to = (int) ((run.offset() + run.bytes() + granularity - 1) / granularity);
        lock.lock();
        try {
            inFlight.clear(from, to);
            if (failed) {
                dirty.set(from, to);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Bytes dirty and not yet handed out. */
    public long dirtyBytes() {
        lock.lock();
        try {
            return (long) dirty.cardinality() * granularity;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes handed out and not finished. */
    public long inFlightBytes() {
        lock.lock();
        try {
            return (long) inFlight.cardinality() * granularity;
        } finally {
            lock.unlock();
        }
    }

    /** Nothing dirty and nothing in flight. */
    public boolean isClean() {
        lock.lock();
        try {
            return dirty.isEmpty() && inFlight.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code nanos} for something to change (a new dirty piece or a finished copy). */
    public void awaitChange(long nanos) {
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
