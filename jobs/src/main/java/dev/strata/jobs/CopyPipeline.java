package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.error.IoOperation;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Up to {@code depth} chunk copies in flight at once, each on its own (platform) thread: how jobs
 * overlap I/O where QEMU copies one chunk at a time. Completed chunks report their bytes to a
 * callback; failed chunks are queued with their range so the job can apply its error policy and
 * retry them after a {@code stop}.
 *
 * <p>Fairness to the guest, for every job: while the guest is doing I/O (see {@link GuestYield})
 * the pipeline runs fewer copies, and under a guest running flat out one copy at a time with rests
 * between copies, so the guest keeps most of the
 * CPU; with an idle guest it runs at full depth. A job's {@code speed} limit applies on top.
 *
 * <p>Used by one job thread (submit, await, failures); copies finish on their own threads. State
 * is guarded by {@code lock}.
 */
public final class CopyPipeline {

    /** One unit of copy work over {@code [offset, offset+bytes)}. */
    @FunctionalInterface
    public interface Copy {
        void copy(long offset, int bytes);
    }

    /** A chunk whose copy failed, and whether reading the source or writing the target failed. */
    public record Failure(long offset, int bytes, BlockException error, IoOperation operation) {
    }

    /**
     * Thrown by a {@link Copy} to say which side failed (a bare BlockException counts as a read);
     * {@link #readSource} and {@link #writeTarget} throw it.
     */
    public static final class SideFailure extends RuntimeException {
        private final BlockException error;
        private final IoOperation operation;

        public SideFailure(BlockException error, IoOperation operation) {
            super(error.getMessage(), error, false, false);
            this.error = error;
            this.operation = operation;
        }
    }

    /** Shared by all jobs; idle threads end after a second, so nothing lingers once jobs are done. */
    private static final java.util.concurrent.ThreadPoolExecutor COPIERS = copiers();

    private static java.util.concurrent.ThreadPoolExecutor copiers() {
        java.util.concurrent.ThreadPoolExecutor p = new java.util.concurrent.ThreadPoolExecutor(64, 64, 1,
                java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
                Thread.ofPlatform().daemon().name("copy").factory());
        p.allowCoreThreadTimeOut(true);
        return p;
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition done = lock.newCondition();
    private final Queue<Failure> failures = new ArrayDeque<>();
    private final int depth;
    private final Copy copy;
    private final java.util.function.LongConsumer onDone;
    private final GuestYield yield;
    private int inFlight;
    private int maxInFlight;
    /** No copy starts before this (System.nanoTime), the rest a busy guest is owed. */
    private long notBefore;
    private boolean restOwed;
    private long restNanos;
    private long busyCopies;
    /** Set by {@link #writeBackEarly} (before the first copy, or null to stop); null when the job does not ask. */
    private volatile EarlyWriteback writeback;

    /** A pipeline that yields to the guest of the whole process (every drive's requests). */
    public CopyPipeline(int depth, Copy copy, java.util.function.LongConsumer onDone) {
        this(depth, copy, onDone, dev.strata.blockdrv.BlockBackend::requestsStartedAll);
    }

    /**
     * @param guestActivity a count of guest requests started, only ever growing (read without
     *                      locking); a job may narrow it to its own drive's {@code BlockBackend.requestsStarted}
     */
    public CopyPipeline(int depth, Copy copy, java.util.function.LongConsumer onDone, java.util.function.LongSupplier guestActivity) {
        this(depth, copy, onDone, new GuestYield(guestActivity, GuestYield.BUSY_DEPTH, GuestYield.BUSY_DUTY));
    }

    CopyPipeline(int depth, Copy copy, java.util.function.LongConsumer onDone, GuestYield yield) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth must be >= 1");
        }
        this.depth = depth;
        this.copy = copy;
        this.onDone = onDone;
        this.yield = yield;
    }

    /**
     * The body most copies share: read {@code [offset, offset+bytes)} from {@code from}, write it
     * to {@code to}, and say which side failed so the job's read and write error policies apply.
     */
    public static void copyRange(dev.strata.blockdrv.BlockNode from, dev.strata.blockdrv.BlockNode to, long offset, int bytes) {
        long pos = offset;
        long end = offset + bytes;
        while (pos < end) {
            int n = (int) Math.min(end - pos, dev.strata.blockdrv.Buffers.POOL_BUFFER_SIZE);
            // a pooled direct buffer: no allocation and zero fill per chunk, and the file channel
            // reads and writes it without a copy through a temporary native buffer
            try (dev.strata.blockdrv.Buffers.Lease lease = dev.strata.blockdrv.Buffers.lease(n)) {
                java.nio.ByteBuffer buf = lease.buffer();
                long at = pos;
                readSource(() -> from.read(at, buf));
                buf.flip();
                writeTarget(() -> to.write(at, buf));
            }
            pos += n;
        }
    }

    /** Runs a request on the job's source: its failure is a read failure (the source's error policy applies). */
    public static void readSource(Runnable request) {
        onSide(IoOperation.READ, () -> {
            request.run();
            return null;
        });
    }

    /** {@link #readSource(Runnable)} for a request that answers something (block status, say). */
    public static <T> T readSource(java.util.function.Supplier<T> request) {
        return onSide(IoOperation.READ, request);
    }

    /** Runs a request on the job's target: its failure is a write failure (the target's error policy applies). */
    public static void writeTarget(Runnable request) {
        onSide(IoOperation.WRITE, () -> {
            request.run();
            return null;
        });
    }

    /** {@link #writeTarget(Runnable)} for a request that answers something. */
    public static <T> T writeTarget(java.util.function.Supplier<T> request) {
        return onSide(IoOperation.WRITE, request);
    }

    private static <T> T onSide(IoOperation side, java.util.function.Supplier<T> request) {
        try {
            return request.get();
        } catch (BlockException e) {
            throw new SideFailure(e, side);
        }
    }

    /**
     * Has the host start writing what the copies put into {@code written} to disk every
     * {@link EarlyWriteback#INTERVAL} bytes, so the job's final flush has little left to do.
     * Call before the first {@link #submit}; {@code null} turns it off again (copies already done
     * may still start one last sync).
     */
    public void writeBackEarly(dev.strata.blockdrv.BlockNode written) {
        writeback = written == null ? null : new EarlyWriteback(written, EarlyWriteback.INTERVAL, COPIERS);
    }

    /**
     * Starts a copy of the chunk once fewer copies than allowed are in flight: {@code depth} with
     * an idle guest, fewer while it is busy (and, when it is heavy, not before the rest after the last copy).
     */
    public void submit(long offset, int bytes) {
        lock.lock();
        try {
            while (true) {
                long now = System.nanoTime();
                GuestYield.Level level = yield.level(now);
                if (level != GuestYield.Level.HEAVY || now - notBefore >= 0) {
                    restOwed = false;   // rested enough, or the guest is no longer heavy: the rest lapses
                }
                if (inFlight < yield.depth(depth, level) && !restOwed) {
                    break;
                }
                long wait = restOwed ? notBefore - now : yield.recheckNanos(now);
                // wake at least once a window to notice that a busy guest went quiet
                done.awaitNanos(Math.min(wait, GuestYield.WINDOW_NANOS));
            }
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            inFlight++;
        } finally {
            lock.unlock();
        }
        // platform threads: a job must keep moving while the guest keeps the virtual-thread
        // carriers busy (on a 2-core host the guest and device ping-pong could starve copies).
        // Pooled, because a job retrying failed chunks submits many copies in a row.
        COPIERS.execute(() -> runOne(offset, bytes));
    }

    private void runOne(long offset, int bytes) {
        Failure failure = null;
        long started = System.nanoTime();
        try {
            copy.copy(offset, bytes);
        } catch (SideFailure e) {
            failure = new Failure(offset, bytes, e.error, e.operation);
        } catch (BlockException e) {
            failure = new Failure(offset, bytes, e, IoOperation.READ);
        } catch (RuntimeException e) {
            failure = new Failure(offset, bytes, new BlockException(BlockException.Kind.IO, String.valueOf(e.getMessage()), e),
                    IoOperation.READ);
        }
        if (failure == null) {
            onDone.accept(bytes);
            EarlyWriteback wb = writeback;
            if (wb != null) {
                wb.written(bytes);
            }
        }
        lock.lock();
        try {
            if (failure != null) {
                failures.add(failure);
            }
            long now = System.nanoTime();
            long rest = yield.restAfter(now - started, yield.level(now));
            if (rest > 0) {
                notBefore = now + rest;
                restOwed = true;
                restNanos += rest;
                busyCopies++;
            }
            inFlight--;
            done.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until no copy is in flight. */
    public void awaitIdle() {
        lock.lock();
        try {
            while (inFlight > 0) {
                done.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Takes the failures collected so far (oldest first). */
    public List<Failure> drainFailures() {
        lock.lock();
        try {
            List<Failure> l = new ArrayList<>(failures);
            failures.clear();
            return l;
        } finally {
            lock.unlock();
        }
    }

    /** Whether failed chunks are waiting to be taken. */
    public boolean hasFailures() {
        lock.lock();
        try {
            return !failures.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** What the fairness rule did so far (tests, benchmarks). */
    public record Yielding(int maxInFlight, long busyCopies, long restNanos) {
    }

    /** The most copies ever in flight at once, copies followed by a rest (guest heavy), and those rests in total. */
    public Yielding yielding() {
        lock.lock();
        try {
            return new Yielding(maxInFlight, busyCopies, restNanos);
        } finally {
            lock.unlock();
        }
    }

    public int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }
}
