package dev.strata.harness.launcher;

import dev.strata.device.RunState;
import dev.strata.harness.guest.Guest;
import dev.strata.harness.guest.GuestDisk;
import dev.strata.harness.guest.VerifyReport;
import dev.strata.harness.guest.Workload;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Starts the {@code -guest} workloads of a machine and, on quit, stops them and prints what the
 * guest measured and verified: one result line per workload, one verification line per disk. A
 * verification failure is printed on stderr too and marks the machine, so the launcher can exit
 * with a status that says so. The final pass needs running vCPUs: a machine paused by the user
 * (or still in {@code -S}) is resumed for it once the workloads are told to stop; one stopped on
 * an I/O error is not, and its pass is skipped with a message.
 *
 * <p>Used from the launcher's main thread (start) and from {@link StrataMachine#close} (stop).
 */
final class Workloads {

    /** The machine whose workloads these are. */
    private final StrataMachine m;
    /** The thread starting the workloads of a {@code -S} machine at its first run, or null. */
    private volatile Thread starter;

    /** How long quit waits for workloads to finish their requests in flight. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    /** How long the final verification pass may take before quit gives up on it. */
    static final Duration VERIFY_TIMEOUT = Duration.ofSeconds(120);

    Workloads(StrataMachine m) {
        this.m = m;
    }

    /**
     * Starts the workloads now, or, for a machine started with {@code -S}, the first time it runs:
     * a verifying workload reads its window's original content first, and a guest whose vCPUs
     * have not started cannot read.
     */
    void start(PrintStream err) {
        for (GuestSpec g : m.config().guests()) {
            String drive = g.workload().drive();
            if (drive != null && m.guest().disk(drive) == null) {
                throw new UsageException(g.typed(), "no disk on drive '" + drive + "'");
            }
        }
        if (m.vm().state() == RunState.RUNNING) {
            startAll();
            return;
        }
        AtomicBoolean started = new AtomicBoolean();
        m.vm().addListener((before, now) -> {
            if (now == RunState.RUNNING && started.compareAndSet(false, true)) {
                // not on the thread that ran `cont`: the monitor's reply must not wait for the baseline reads
                starter = Thread.ofVirtual().name("strata-guest-start").start(() -> {
                    try {
                        startAll();
                    } catch (UsageException e) {
                        err.println(e.line());
                    }
                });
            }
        });
    }

    private void startAll() {
        for (GuestSpec g : m.config().guests()) {
            if (m.isQuitRequested()) {
                return;
            }
            try {
                Workload w = m.guest().start(g.workload());
                if (m.isQuitRequested()) {
                    w.stop(); // quit came while this one read its baseline
                }
            } catch (IllegalArgumentException e) {
                String msg = e.getMessage() == null ? e.toString() : e.getMessage();
                throw new UsageException(g.typed(), msg.startsWith("guest workload: ") ? msg.substring(16) : msg);
            }
        }
    }

    /** Stops the workloads, prints their results and the full verification pass. */
    void stop(PrintStream out, PrintStream err) throws InterruptedException {
        Guest guest = m.guest();
        Thread s = starter;
        if (s != null && s.isAlive()) {
            // workloads of a -S machine still reading their baselines: let them get going (the
            // quit flag stops any not yet started), so they are stopped and judged like the rest
            if (m.vm().state() == RunState.PAUSED) {
                m.vm().cont();
            }
            s.join(STOP_TIMEOUT);
        }
        if (guest.workloads().isEmpty()) {
            return;
        }
        RunState state = m.vm().state();
        if (state == RunState.IO_ERROR) {
            // a request is parked until cont and would fail again: no clean final pass is possible
            m.vm().shutdown();
            guest.stopWorkloads(STOP_TIMEOUT);
            printResults(guest, out);
            out.println("guest verify: skipped, the machine is stopped on an I/O error");
            return;
        }
        if (state == RunState.PAUSED || state == RunState.PRELAUNCH) {
            // the guest's final reads need running vCPUs; the workloads are told to stop first, and
            // requests they had waiting for the paused machine are dropped, not written: after a
            // `stop` nothing more reaches the disk (a migration's copy was taken from it)
            guest.workloads().forEach(Workload::stop);
            guest.disks().forEach(GuestDisk::abandonWaiting);
            m.vm().cont();
        }
        if (!guest.stopWorkloads(STOP_TIMEOUT)) {
            err.println("strata: some guest workloads did not stop within " + STOP_TIMEOUT.toSeconds() + " s");
        }
        printResults(guest, out);
        for (VerifyReport r : verifyBounded(guest, err)) {
            out.println("guest verify: " + r.describe());
            if (!r.ok()) {
                m.markVerifyFailed();
                err.println("strata: VERIFY FAILED on " + r.drive() + ": " + r.failureCount() + " blocks are not what the guest wrote");
            }
        }
        out.flush();
    }

    /**
     * The full pass, but never longer than {@link #VERIFY_TIMEOUT}: when guest I/O cannot complete
     * (a drained backend that is never resumed) the machine must still be able to go away.
     */
    private static List<VerifyReport> verifyBounded(Guest guest, PrintStream err) throws InterruptedException {
        AtomicReference<List<VerifyReport>> result = new AtomicReference<>();
        Thread t = Thread.ofVirtual().name("strata-verify").start(() -> result.set(guest.verifyAll()));
        if (!t.join(VERIFY_TIMEOUT)) {
            err.println("strata: the guest's final verification did not finish within " + VERIFY_TIMEOUT.toSeconds()
                    + " s (guest I/O is not completing); skipped");
            return List.of();
        }
        return result.get() == null ? List.of() : result.get();
    }

    private static void printResults(Guest guest, PrintStream out) {
        for (Workload w : guest.workloads()) {
            out.println("guest: " + w.result().format());
        }
    }
}
