package dev.strata.blockdrv.io;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The in-flight requests of one node: the single place where request serialisation and drain
 * are implemented (QEMU's tracked requests and {@code bdrv_drained_begin}).
 *
 * <p>Rules, checked when a request begins:
 * <ul>
 *   <li>while the node is quiesced ({@link #quiesce()}), new requests wait at the door, except
 *       those of the thread that quiesced it: the owner of a drained section does its work
 *       (flush, header rewrite, copy) through the ordinary request path;</li>
 *   <li>two requests conflict when their ranges, widened to the serialisation alignment,
 *       overlap and either one is serialising or either one writes; a new request waits until no
 *       conflicting request is in flight. Copy-on-read and job copies are serialising, so a
 *       copy can never overwrite a guest write that raced it, and a reader never sees half a
 *       copy. Requests wait only for conflicting requests that arrived before them (in flight or
 *       themselves waiting), so service is first-come first-served per range and nothing
 *       starves.</li>
 * </ul>
 * Any thread may call any method; all state is guarded by {@code lock}.
 */
public final class RequestTracker {

    /** One tracked request; close it (exactly once) when the request completes. */
    public final class Tracked implements AutoCloseable {
        final long start;
        final long end;
        final boolean write;
        final boolean serialising;
        private boolean closed;

        Tracked(long start, long end, boolean write, boolean serialising) {
            this.start = start;
            this.end = end;
            this.write = write;
            this.serialising = serialising;
        }

        boolean conflictsWith(Tracked other) {
            boolean overlap = start < other.end && other.start < end;
            // reads never wait for reads; anything else that overlaps runs in arrival order, so a
            // read never copies a sector half old and half new while a write lands on it
            return overlap && (serialising || other.serialising || write || other.write);
        }

        @Override
        public void close() {
            finish(this);
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<Tracked> inFlight = new ArrayList<>();
    /** One entry per open drained section: the thread that opened it (nestable, so a list). */
    private final List<Thread> quiescers = new ArrayList<>();

    /**
     * Starts a request over {@code [offset, offset+bytes)}; blocks while the node is quiesced or a
     * conflicting request is in flight.
     *
     * @param align ranges are widened to this alignment for conflict checks (a power of two, or 1)
     */
    public Tracked begin(long offset, long bytes, boolean write, boolean serialising, long align) {
        long start = align > 1 ? Math.floorDiv(offset, align) * align : offset;
        long end = align > 1 ? ceil(offset + bytes, align) : offset + bytes;
        Tracked t = new Tracked(start, Math.max(end, start + 1), write, serialising);
        lock.lock();
        try {
            while (heldAtDoor()) {
                changed.awaitUninterruptibly();
            }
            // joining the list before waiting keeps arrival order: later requests queue behind this
            // one, so a copy-on-read that overlaps a stream of guest writes cannot be starved
            inFlight.add(t);
            while (conflictsWithEarlier(t)) {
                changed.awaitUninterruptibly();
            }
            return t;
        } finally {
            lock.unlock();
        }
    }

    private boolean heldAtDoor() {
        return !quiescers.isEmpty() && !quiescers.contains(Thread.currentThread());
    }

    /** Only requests that arrived earlier count: they never wait for this one, so there is no cycle. */
    private boolean conflictsWithEarlier(Tracked t) {
        for (Tracked other : inFlight) {
            if (other == t) {
                return false;
            }
            if (t.conflictsWith(other)) {
                return true;
            }
        }
        return false;
    }

    private void finish(Tracked t) {
        lock.lock();
        try {
            if (t.closed) {
                return;
            }
            t.closed = true;
            inFlight.remove(t);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Closes the door to new requests (nestable) and waits until every request in flight is done. */
    public void quiesce() {
        lock.lock();
        try {
            quiescers.add(Thread.currentThread());
            while (!inFlight.isEmpty()) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Undoes one {@link #quiesce()}; when the last one ends, waiting requests proceed. */
    public void resume() {
        lock.lock();
        try {
            if (quiescers.isEmpty()) {
                throw new IllegalStateException("resume without quiesce");
            }
            if (!quiescers.remove(Thread.currentThread())) {
                quiescers.remove(0);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Number of requests in flight now (for tests and statistics). */
    public int inFlightCount() {
        lock.lock();
        try {
            return inFlight.size();
        } finally {
            lock.unlock();
        }
    }

    public boolean isQuiesced() {
        lock.lock();
        try {
            return !quiescers.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    private static long ceil(long v, long align) {
        return Math.floorDiv(v + align - 1, align) * align;
    }
}
