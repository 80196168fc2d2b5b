package dev.strata.device;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Whether the machine runs: the one switch that {@code stop}/{@code cont} (monitor), the
 * {@code -S} option (launcher) and a device's {@code rerror/werror=stop} (device) flip.
 *
 * <p>Guest vCPU threads call {@link #awaitRunning()} before each request, so a stopped machine
 * issues no new guest I/O; a device request stopped by an I/O error waits in the same place and is
 * retried once the machine runs again. {@link #shutdown()} releases every waiter for good.
 *
 * <p>Thread safety: any thread may call any method. {@code state} is guarded by {@code lock};
 * listeners are called after the change, outside the lock, on the thread that made it, in
 * registration order. QEMU semantics: stopping a stopped machine and continuing a running one
 * change nothing and notify nobody.
 */
public final class VmRunState {

    /** Told about every real change of the run state (the monitor turns them into STOP/RESUME). */
    @FunctionalInterface
    public interface Listener {
        void runStateChanged(RunState previous, RunState now);
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> resumeHooks = new CopyOnWriteArrayList<>();
    private RunState state;
    /** Mirror of {@code state} for the per-request fast path (written under {@code lock}). */
    private volatile boolean running;

    /** A machine in {@code initial} state: RUNNING, or PRELAUNCH for {@code -S}. */
    public VmRunState(RunState initial) {
        this.state = initial;
        this.running = initial == RunState.RUNNING;
    }

    public void addListener(Listener l) {
        listeners.add(l);
    }

    public void removeListener(Listener l) {
        listeners.remove(l);
    }

    /**
     * Adds work done by {@link #cont()} just before the machine runs again (QEMU resets every
     * device's I/O status there, before stopped requests are retried and may fail anew).
     */
    public void addResumeHook(Runnable hook) {
        resumeHooks.add(hook);
    }

    public RunState state() {
        lock.lock();
        try {
            return state;
        } finally {
            lock.unlock();
        }
    }

    public boolean isRunning() {
        return running;
    }

    /**
     * Stops the machine for {@code reason} (PAUSED for the user, IO_ERROR for a device). No effect
     * when it is not running (a stopped machine keeps its first reason, as QEMU's does).
     *
     * @return true if the machine was running and is now stopped
     */
    public boolean stop(RunState reason) {
        if (reason == RunState.RUNNING || reason == RunState.SHUTDOWN) {
            throw new IllegalArgumentException("stop reason must be a paused state, not " + reason);
        }
        return transition(RunState.RUNNING, reason);
    }

    /**
     * Lets the machine run again. No effect when running or shut down.
     *
     * @return true if the machine was stopped and now runs
     */
    public boolean cont() {
        RunState previous;
        RunState now = state();
        if (now == RunState.RUNNING || now == RunState.SHUTDOWN) {
            return false;
        }
        for (Runnable hook : resumeHooks) {
            hook.run();
        }
        lock.lock();
        try {
            if (state == RunState.RUNNING || state == RunState.SHUTDOWN) {
                return false;
            }
            previous = state;
            state = RunState.RUNNING;
            running = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        fire(previous, RunState.RUNNING);
        return true;
    }

    /** The machine quits: every {@link #awaitRunning()} returns false from now on. */
    public void shutdown() {
        RunState previous;
        lock.lock();
        try {
            if (state == RunState.SHUTDOWN) {
                return;
            }
            previous = state;
            state = RunState.SHUTDOWN;
            running = false;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        fire(previous, RunState.SHUTDOWN);
    }

    private boolean transition(RunState from, RunState to) {
        lock.lock();
        try {
            if (state != from) {
                return false;
            }
            state = to;
            running = to == RunState.RUNNING;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        fire(from, to);
        return true;
    }

    private void fire(RunState previous, RunState now) {
        for (Listener l : listeners) {
            l.runStateChanged(previous, now);
        }
    }

    /**
     * Blocks while the machine is stopped. Uninterruptible on purpose: a vCPU or a stopped request
     * has nothing sensible to do on interrupt; {@link #shutdown()} is how waiters are released.
     *
     * @return true when running, false when shut down
     */
    public boolean awaitRunning() {
        if (running) {
            return true; // every guest request passes here: no lock while the machine runs
        }
        lock.lock();
        try {
            while (state != RunState.RUNNING && state != RunState.SHUTDOWN) {
                changed.awaitUninterruptibly();
            }
            return state == RunState.RUNNING;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Like {@link #awaitRunning()} but gives up after {@code timeout}.
     *
     * @return true when running; false on shutdown or timeout
     */
    public boolean awaitRunning(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lock();
        try {
            while (state != RunState.RUNNING && state != RunState.SHUTDOWN) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = changed.awaitNanos(nanos);
            }
            return state == RunState.RUNNING;
        } finally {
            lock.unlock();
        }
    }

    /** Blocks until the machine is in {@code wanted} (tests and scripts), or the timeout passes. */
    public boolean awaitState(RunState wanted, long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lock();
        try {
            while (state != wanted) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = changed.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }
}
