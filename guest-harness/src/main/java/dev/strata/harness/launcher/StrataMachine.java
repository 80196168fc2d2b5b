package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.jobs.JobManager;
import dev.strata.monitor.Machine;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.RunState;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A running Strata machine: the block graph with its backends, the disk devices, the guest's
 * workloads, the job manager and the monitors, as {@link MachineBuilder} assembled them.
 *
 * <p>Life cycle: built and started by the builder; {@link #awaitQuit} blocks the launcher's main
 * thread until {@code quit}, end of input on a stdio monitor, or SIGTERM/SIGINT calls
 * {@link #requestQuit}; {@link #close} then stops everything in reverse start order and flushes
 * and closes the images. Thread safety: {@link #requestQuit} and {@link #close} may be called from
 * any thread (monitor sessions, signal handlers); the quit flag is guarded by {@code lock}, the
 * service list is only appended during building and read once by {@code close}.
 */
public final class StrataMachine implements Machine, AutoCloseable {

    private final MachineConfig config;
    private final BlockGraph graph;
    private final List<DeviceLayout.Planned> devices;
    private final PrintStream out;
    private final PrintStream err;
    private final List<Service> services = new CopyOnWriteArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition quitSignalled = lock.newCondition();
    private final AtomicBoolean closed = new AtomicBoolean();
    private boolean quitRequested;
    private String quitReason;
    private RunState runState;
    private volatile Monitor monitor;
    private final JobManager jobs = new JobManager();

    /** Something started with the machine that must be stopped with it (a workload, a socket...). */
    @FunctionalInterface
    public interface Service {
        void stop() throws Exception;
    }

    StrataMachine(MachineConfig config, BlockGraph graph, List<DeviceLayout.Planned> devices, PrintStream out, PrintStream err) {
        this.config = config;
        this.graph = graph;
        this.devices = List.copyOf(devices);
        this.out = out;
        this.err = err;
        this.runState = config.startPaused() ? RunState.PRELAUNCH : RunState.RUNNING;
    }

    // ---- Machine (what the monitor sees) ----------------------------------------------------

    @Override
    public BlockGraph graph() {
        return graph;
    }

    @Override
    public RunState runState() {
        lock.lock();
        try {
            return runState;
        } finally {
            lock.unlock();
        }
    }

    /** Pauses the guest's vCPUs; block jobs keep running, as in QEMU. */
    @Override
    public void stop() {
        lock.lock();
        try {
            if (runState == RunState.RUNNING) {
                runState = RunState.PAUSED;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Starts or resumes the guest's vCPUs ({@code -S} machines start here). */
    @Override
    public void cont() {
        lock.lock();
        try {
            if (runState == RunState.PAUSED || runState == RunState.PRELAUNCH || runState == RunState.IO_ERROR) {
                runState = RunState.RUNNING;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Machine parts the monitor's command modules reach by type: the job manager. */
    @Override
    public <T> Optional<T> lookup(Class<T> type) {
        if (type.isInstance(jobs)) {
            return Optional.of(type.cast(jobs));
        }
        return Optional.empty();
    }

    /** The monitor's {@code quit}: the launcher's main thread wakes up and shuts the machine down. */
    @Override
    public void quit() {
        requestQuit("quit");
    }

    // ---- launcher side ------------------------------------------------------------------------

    /** The block jobs of this machine. */
    public JobManager jobs() {
        return jobs;
    }

    /** The monitor (command registry, events, HMP interpreter) of this machine. */
    public Monitor monitor() {
        return monitor;
    }

    void setMonitor(Monitor m) {
        this.monitor = m;
    }

    public MachineConfig config() {
        return config;
    }

    /** The disk devices, in creation order. */
    public List<DeviceLayout.Planned> devices() {
        return devices;
    }

    public List<BlockBackend> backends() {
        return graph.backends();
    }

    /** Registers something to stop on {@link #close}, in reverse order of registration. */
    void addService(Service s) {
        services.add(s);
    }

    /** Asks the launcher's main thread to shut the machine down; idempotent. */
    public void requestQuit(String reason) {
        lock.lock();
        try {
            if (!quitRequested) {
                quitRequested = true;
                quitReason = reason;
            }
            quitSignalled.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public boolean isQuitRequested() {
        lock.lock();
        try {
            return quitRequested;
        } finally {
            lock.unlock();
        }
    }

    /** Why the machine is quitting ({@code quit}, end of input, a signal), or null. */
    public String quitReason() {
        lock.lock();
        try {
            return quitReason;
        } finally {
            lock.unlock();
        }
    }

    /** Blocks until {@link #requestQuit}; returns false if {@code timeout} passed first. */
    public boolean awaitQuit(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (!quitRequested) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                quitSignalled.awaitNanos(Math.min(left, TimeUnit.SECONDS.toNanos(1)));
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Blocks until {@link #requestQuit}. */
    public void awaitQuit() throws InterruptedException {
        lock.lock();
        try {
            while (!quitRequested) {
                quitSignalled.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops services newest first (workloads print their verification summaries as they stop),
     * then flushes and closes every image. Safe to call twice; the second call does nothing.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        requestQuit("close");
        lock.lock();
        try {
            runState = RunState.SHUTDOWN;
        } finally {
            lock.unlock();
        }
        List<Service> l = new ArrayList<>(services);
        Collections.reverse(l);
        for (Service s : l) {
            try {
                s.stop();
            } catch (Exception | LinkageError e) {
                err.println("strata: while shutting down: " + e.getMessage());
            }
        }
        for (BlockBackend b : graph.backends()) {
            try {
                b.flush();
            } catch (BlockException e) {
                err.println("strata: flushing " + b.name() + " failed: " + e.getMessage());
            }
        }
        graph.closeAll();
        out.flush();
    }

    public boolean isClosed() {
        return closed.get();
    }
}
