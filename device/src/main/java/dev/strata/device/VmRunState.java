package dev.strata.device;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Whether the machine runs: the one switch that {@code stop}/{@code cont} (monitor), the
 * {@code -S} option (launcher) and a device's {@code rerror/werror=stop} (device) flip.
 *
 * <p>The vCPU gate: a guest "vCPU" thread touches a device only inside a section opened by
 * {@link #enterVcpu()} (which waits while the machine is stopped) and closed by {@link #exitVcpu()},
 * so checking the run state and publishing a request are one step. {@link #stop} returns only when
 * no section is open any more (QEMU's {@code pause_all_vcpus}): once it returns, no guest thread can
 * publish a request until {@code cont}. Sections must stay short (check, fill in, publish; never
 * wait for the completion inside one, and never open one inside another), because {@code stop}
 * waits for them. The one exception to
 * that wait: sections the stopping thread holds itself (a vCPU that stops the machine does not wait
 * for itself, as in QEMU, where a vCPU only requests the stop). A device request stopped by an I/O
 * error waits in {@link #awaitRunning()} (not a section) and is retried once the machine runs
 * again. {@link #shutdown()} releases every waiter for good.
 *
 * <p>Thread safety: any thread may call any method. {@code state} is guarded by {@code lock};
 * {@code transitions} orders whole stop/cont transitions (a {@code cont} waits for a {@code stop}
 * that is still pausing the vCPUs, so STOP and RESUME are announced in the order they happened).
 * The open-section count is an atomic paired with the volatile {@code running} flag (a vCPU raises
 * the count then re-reads the flag; {@code stop} clears the flag then reads the count, so one sees
 * the other). Listeners are called after the change, outside {@code lock}, on the thread that made
 * it, in registration order. QEMU semantics: stopping a stopped machine and continuing a running
 * one change nothing and notify nobody.
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
    private final ReentrantLock transitions = new ReentrantLock();
    private final Condition vcpusLeft = lock.newCondition();
    /** vCPU sections open now, over all threads. */
    private final AtomicInteger vcpusInside = new AtomicInteger();
    /** Sections the current thread holds (so a stopping vCPU does not wait for itself). */
    private final ThreadLocal<int[]> ownSections = ThreadLocal.withInitial(() -> new int[1]);
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
     * Stops the machine for {@code reason} (PAUSED for the user, IO_ERROR for a device) and waits
     * until no vCPU section is open (except the caller's own), then tells the listeners: once this
     * returns no guest thread publishes a request until {@link #cont()}. Requests published before
     * are not waited for here (that is the devices' drain). No effect when the machine is not
     * running (a stopped machine keeps its first reason, as QEMU's does).
     *
     * @return true if the machine was running and is now stopped
     */
    public boolean stop(RunState reason) {
        if (reason == RunState.RUNNING || reason == RunState.SHUTDOWN) {
            throw new IllegalArgumentException("stop reason must be a paused state, not " + reason);
        }
        transitions.lock();
        try {
            lock.lock();
            try {
                if (state != RunState.RUNNING) {
                    return false;
                }
                state = reason;
                running = false;
                changed.signalAll();
                int mine = ownSections.get()[0];
                // sections are short and never wait on the run state or on a request, so this ends
                while (vcpusInside.get() > mine && state == reason) {
                    vcpusLeft.awaitUninterruptibly();
                }
            } finally {
                lock.unlock();
            }
            fire(RunState.RUNNING, reason);
            return true;
        } finally {
            transitions.unlock();
        }
    }

    /**
     * Opens a vCPU section: waits while the machine is stopped, then lets the caller touch a device
     * until {@link #exitVcpu()}. Uninterruptible, like {@link #awaitRunning()}.
     *
     * @return true inside a section (the caller must call {@link #exitVcpu()}); false when the
     *         machine shut down (no section was opened)
     */
    public boolean enterVcpu() {
        while (true) {
            if (!awaitRunning()) {
                return false;
            }
            vcpusInside.incrementAndGet();
            if (running) {
                ownSections.get()[0]++;
                return true;
            }
            leaveSection(); // stopped between the check and the count: back out and wait again
        }
    }

    /** Closes the section {@link #enterVcpu()} opened; a {@code stop} waiting for it may return. */
    public void exitVcpu() {
        int[] own = ownSections.get();
        if (own[0] <= 0) {
            throw new IllegalStateException("exitVcpu without enterVcpu");
        }
        own[0]--;
        leaveSection();
    }

    private void leaveSection() {
        vcpusInside.decrementAndGet();
        if (!running) {
            lock.lock();
            try {
                vcpusLeft.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Lets the machine run again. No effect when running or shut down.
     *
     * @return true if the machine was stopped and now runs
     */
    public boolean cont() {
        transitions.lock();
        try {
            return resume();
        } finally {
            transitions.unlock();
        }
    }

    private boolean resume() {
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
            vcpusLeft.signalAll();
        } finally {
            lock.unlock();
        }
        fire(previous, RunState.SHUTDOWN);
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
