package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
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

    /** Thrown by a {@link Copy} to say which side failed (a bare BlockException counts as a read). */
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
    private int inFlight;

    public CopyPipeline(int depth, Copy copy, java.util.function.LongConsumer onDone) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth must be >= 1");
        }
        this.depth = depth;
        this.copy = copy;
        this.onDone = onDone;
    }

    /**
     * The body most copies share: read {@code [offset, offset+bytes)} from {@code from}, write it
     * to {@code to}, and say which side failed so the job's read and write error policies apply.
     */
    public static void copyRange(dev.strata.blockdrv.BlockNode from, dev.strata.blockdrv.BlockNode to, long offset, int bytes) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(bytes);
        try {
            from.read(offset, buf);
        } catch (BlockException e) {
            throw new SideFailure(e, IoOperation.READ);
        }
        buf.flip();
        try {
            to.write(offset, buf);
        } catch (BlockException e) {
            throw new SideFailure(e, IoOperation.WRITE);
        }
    }

    /** Starts a copy of the chunk once fewer than {@code depth} are in flight. */
    public void submit(long offset, int bytes) {
        lock.lock();
        try {
            while (inFlight >= depth) {
                done.awaitUninterruptibly();
            }
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
        }
        lock.lock();
        try {
            if (failure != null) {
                failures.add(failure);
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

    public int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }
}
