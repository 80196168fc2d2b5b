package dev.strata.jobs;

import java.util.function.LongSupplier;

/**
 * How hard a job's copies may push while the guest is doing I/O: the fairness rule of
 * {@link CopyPipeline}. The guest counts as busy when its request counter (by default every
 * drive's, {@code BlockBackend.requestsStartedAll()}) advanced by at least {@link #BUSY_REQUESTS}
 * within one {@link #WINDOW_NANOS} window; then copies run one at a time ({@code busyDepth}) and
 * rest after each copy so they run at most {@code busyDuty} of the wall time. With an idle guest
 * the pipeline runs at its full depth without rests.
 *
 * <p>Why the whole process and not only the job's nodes: what copies take from the guest is CPU
 * and host I/O, which every drive of the machine shares; a guest hammering another disk suffers
 * from eight copy threads just the same. Why depth and rests rather than thread priorities: Java
 * priorities do nothing on Linux without root, and copies had to leave the virtual-thread carriers
 * (a busy guest starved them there), so the only lever is how many copies run and how often.
 *
 * <p>Threads: called by {@link CopyPipeline} under its lock only; no state of its own is shared.
 */
final class GuestYield {

    /** Length of one sampling window. */
    static final long WINDOW_NANOS = Long.getLong("strata.jobs.guestWindowMs", 20) * 1_000_000L;
    /** Guest requests within a window that make it busy (~400 IOPS): a trickle needs no protection. */
    static final long BUSY_REQUESTS = Long.getLong("strata.jobs.guestBusyRequests", 8);
    /** Copies in flight while the guest is busy. */
    static final int BUSY_DEPTH = Integer.getInteger("strata.jobs.busyDepth", 1);
    /** Share of wall time copies may run while the guest is busy (0 < duty <= 1). */
    static final double BUSY_DUTY = Double.parseDouble(System.getProperty("strata.jobs.busyDuty", "0.4"));

    private final LongSupplier activity;
    private final int busyDepth;
    private final double busyDuty;
    private long windowStart;
    private long countAtWindowStart;
    private boolean busy;

    GuestYield(LongSupplier activity, int busyDepth, double busyDuty) {
        if (busyDepth < 1 || !(busyDuty > 0 && busyDuty <= 1)) {
            throw new IllegalArgumentException("busy depth must be >= 1 and busy duty in (0, 1]");
        }
        this.activity = activity;
        this.busyDepth = busyDepth;
        this.busyDuty = busyDuty;
        this.windowStart = System.nanoTime();
        this.countAtWindowStart = activity.getAsLong();
    }

    /**
     * Samples the counter: busy as soon as the current window has seen enough requests (so a burst
     * is noticed within a copy), idle only once a whole window passed without.
     */
    boolean guestBusy(long now) {
        long count = activity.getAsLong();
        long seen = count - countAtWindowStart;
        if (seen >= BUSY_REQUESTS) {
            busy = true;
        }
        if (now - windowStart >= WINDOW_NANOS) {
            busy = seen >= BUSY_REQUESTS;
            windowStart = now;
            countAtWindowStart = count;
        }
        return busy;
    }

    /** Copies allowed in flight now. */
    int depth(int fullDepth, boolean guestBusy) {
        return guestBusy ? Math.min(fullDepth, busyDepth) : fullDepth;
    }

    /** How long to rest after a copy that took {@code copyNanos}, so copies keep to the duty cycle. */
    long restAfter(long copyNanos, boolean guestBusy) {
        if (!guestBusy || busyDuty >= 1) {
            return 0;
        }
        return (long) (copyNanos * (1 - busyDuty) / busyDuty);
    }
}
