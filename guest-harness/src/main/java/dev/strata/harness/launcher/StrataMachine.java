package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.device.BlockDevice;
import dev.strata.device.BlockStats;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import dev.strata.harness.guest.Guest;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import dev.strata.jobs.JobManager;
import dev.strata.monitor.Machine;
import dev.strata.monitor.Monitor;
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
 * A running Strata machine: the block graph with its backends, the disk devices, the synthetic
 * guest and its workloads, the job manager and the monitor, as {@link MachineBuilder} assembled
 * them. It is the monitor's {@link Machine}; the parts only some commands drive (jobs, devices,
 * guest, {@code -object}s) are handed to those command sets by {@link MachineMonitor}.
 *
 * <p>Life cycle: built and started by the builder; {@link #awaitQuit} blocks the launcher's main
 * thread until {@code quit}, end of input on a stdio monitor, or SIGTERM/SIGINT calls
 * {@link #requestQuit}; {@link #close} then stops everything in reverse start order and flushes
 * and closes the images. Thread safety: every method may be called from any thread (monitor
 * sessions, signal handlers). The quit flag is guarded by {@code lock}; the run state lives in
 * {@link VmRunState} (its own lock); services are a copy-on-write list appended while building.
 */
public final class StrataMachine implements Machine, AutoCloseable {

    private final MachineConfig config;
    private final BlockGraph graph;
    private final VmRunState vm;
    private final Peripherals devices;
    private final Guest guest;
    private final JobManager jobs = new JobManager();
    private final UserObjects objects;
    private final PrintStream out;
    private final PrintStream err;
    private final List<Service> services = new CopyOnWriteArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition quitSignalled = lock.newCondition();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Monitor monitor;
    private volatile boolean verifyFailed;
    private boolean quitRequested;
    private String quitReason;

    /** Something started with the machine that must be stopped with it (a workload, a socket...). */
    @FunctionalInterface
    public interface Service {
        void stop() throws Exception;
    }

    StrataMachine(MachineConfig config, BlockGraph graph, UserObjects objects, VmRunState vm, Peripherals devices, Guest guest,
                  PrintStream out, PrintStream err) {
        this.config = config;
        this.graph = graph;
        this.objects = objects;
        this.vm = vm;
        this.devices = devices;
        this.guest = guest;
        this.out = out;
        this.err = err;
    }

    // ---- Machine (what the monitor sees) ----------------------------------------------------

    @Override
    public BlockGraph graph() {
        return graph;
    }

    @Override
    public RunState runState() {
        return vm.state();
    }

    /**
     * The user's {@code stop}, as QEMU's {@code vm_stop}: pauses the guest's vCPUs (waits until no
     * guest thread is publishing; {@code paused} runs then: the monitor's STOP goes out before the
     * drain, as QEMU sends it), drains
     * every device (waits for each request already published, except those an error policy parked
     * until {@code cont}), then flushes every drive. Once this returns nothing more from the guest
     * reaches a disk until {@code cont}. Block jobs keep running, as in QEMU. The drain and flush
     * also run when the machine was already stopped (by an I/O error, say): requests still running
     * then end or park, so the wait ends either way.
     */
    @Override
    public void stop() {
        stop(() -> { });
    }

    @Override
    public void stop(Runnable paused) {
        vm.stop(RunState.PAUSED);
        paused.run();
        devices.drainAll();
        for (BlockBackend b : graph.backends()) {
            try {
                b.flush();
            } catch (BlockException e) {
                // QEMU's qmp_stop ignores the flush result too (the error is the image's, reported
                // by the next request); the machine is stopped either way
            }
        }
    }

    /** Starts or resumes the guest's vCPUs ({@code -S} machines start here); resets device I/O status. */
    @Override
    public void cont() {
        vm.cont();
    }

    /** The monitor's {@code quit}: the launcher's main thread wakes up and shuts the machine down. */
    @Override
    public void quit() {
        requestQuit("quit");
    }

    @Override
    public Optional<BlockStats> deviceStats(String backend) {
        BlockDevice d = devices.byDrive(backend);
        return d == null ? Optional.empty() : Optional.of(d.stats());
    }

    @Override
    public String ioStatus(String backend) {
        BlockDevice d = devices.byDrive(backend);
        return d == null ? "ok" : d.ioStatus().qapiName();
    }

    // ---- launcher side ------------------------------------------------------------------------

    public MachineConfig config() {
        return config;
    }

    /** The {@code -object}/{@code object-add} objects (TLS credentials, authorization). */
    public UserObjects objects() {
        return objects;
    }

    public JobManager jobs() {
        return jobs;
    }

    public VmRunState vm() {
        return vm;
    }

    public Peripherals devices() {
        return devices;
    }

    public Guest guest() {
        return guest;
    }

    /** The monitor (command registry, events, HMP interpreter) of this machine. */
    public Monitor monitor() {
        return monitor;
    }

    void setMonitor(Monitor m) {
        this.monitor = m;
    }

    public List<BlockBackend> backends() {
        return graph.backends();
    }

    /** Registers something to stop on {@link #close}, in reverse order of registration. */
    void addService(Service s) {
        services.add(s);
    }

    /** Asks the launcher's main thread to shut the machine down; idempotent, first reason wins. */
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
     * Stops services newest first (front ends, then workloads with their verification summary,
     * then jobs, then devices), then flushes and closes every image. Safe to call twice; the
     * second call does nothing.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        requestQuit("close");
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

    /** True once the guest's verification found a block that is not what it must be. */
    public boolean verifyFailed() {
        return verifyFailed;
    }

    void markVerifyFailed() {
        verifyFailed = true;
    }

    public boolean isClosed() {
        return closed.get();
    }
}
