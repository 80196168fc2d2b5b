package dev.strata.device;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Counts one device's guest requests that are published and not yet completed, so {@code stop}
 * can drain the device (QEMU's {@code bdrv_drain_all} after pausing the vCPUs): once
 * {@link #awaitIdle()} returns, nothing the guest published before the stop is still writing.
 *
 * <p>A request that rerror/werror=stop parked until {@code cont} is not running: it leaves the count
 * while it waits ({@link #parked()}) and comes back when it retries ({@link #retrying()}), so a drain
 * never waits for a {@code cont} that only the drained caller could give. QEMU likewise keeps such
 * requests queued and retries them on {@code cont}.
 *
 * <p>Thread safety: {@link #begin} on the publishing guest thread, {@link #end}/{@link #parked}/
 * {@link #retrying} on the device's threads, {@link #awaitIdle} on the control thread. The count is
 * an atomic (the per-request path takes no lock); a drainer announces itself in the volatile
 * {@code draining} before reading the count, and {@link #end} reads it after lowering the count, so
 * one of them sees the other.
 */
public final class InflightRequests {

    private final AtomicInteger running = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private volatile int draining;

    /** A request is handed to the device (before it becomes visible to it). */
    public void begin() {
        running.incrementAndGet();
    }

    /** A request completed (or was dropped); its effect on the disk is done. */
    public void end() {
        if (running.decrementAndGet() == 0 && draining > 0) {
            lock.lock();
            try {
                idle.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** The request waits for {@code cont} after an error stopped the machine: not running meanwhile. */
    public void parked() {
        end();
    }

    /** A parked request runs again (the machine continued, or shut down and it fails). */
    public void retrying() {
        begin();
    }

    /** Requests running now. */
    public int running() {
        return running.get();
    }

    /** Blocks until no request is running. Call only while the vCPUs are stopped, or it may never end. */
    public void awaitIdle() {
        if (running.get() == 0) {
            return;
        }
        lock.lock();
        try {
            draining++;
            while (running.get() > 0) {
                idle.awaitUninterruptibly();
            }
        } finally {
            draining--;
            lock.unlock();
        }
    }
}
