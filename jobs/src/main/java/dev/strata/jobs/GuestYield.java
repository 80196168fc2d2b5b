package dev.strata.jobs;

import java.util.function.LongSupplier;

/**
 * How hard a job's copies may push while the guest is doing I/O: the fairness rule of
 * {@link CopyPipeline}. It reads a lock-free count of guest requests (by default every drive's,
 * {@code BlockBackend.requestsStartedAll()}) each time the pipeline looks, and per
 * {@link #WINDOW_NANOS} window picks a level from the guest's request rate:
 * <ul>
 *   <li>{@link Level#IDLE} (under {@link #BUSY_REQUESTS} requests a window, ~400 IOPS): full
 *       depth, no rests; a trickle (a log writer) needs no protection;</li>
 *   <li>{@link Level#MODERATE} (busy, under {@link #HEAVY_IOPS}): a quarter of the depth, no rests. A
 *       guest with a rate of its own (issue 7's 5,000 IOPS writer) is not short of CPU; what it
 *       needs is that mirror and active commit still outrun its writes and converge;</li>
 *   <li>{@link Level#HEAVY} (from {@link #HEAVY_IOPS}; left only below {@link #LIGHT_IOPS}):
 *       {@code busyDepth} copies (1) and a rest after each, so copies run at most
 *       {@code busyDuty} (40 %) of the wall time. This is the guest that runs flat out and would
 *       lose most of its IOPS to eight copy threads on two cores.</li>
 * </ul>
 * A pipeline starts at HEAVY: copies at full depth cut a flat-out guest to a few thousand IOPS
 * within milliseconds, so a guest judged by its rate *during* full-depth copies would never look
 * heavy. For its first {@link #PROBE_NANOS} it runs one copy without rests and watches: a guest
 * that starts no request in that time is idle (full depth from then on), one that does keeps the
 * pipeline HEAVY until a whole window has shown its rate. The probe replaced a whole first window
 * at HEAVY, which cost every job on an idle machine 20 ms of slow copies: a third of a 60 ms
 * commit. A level rises as soon as the current window has seen enough requests and falls only
 * when a whole window has passed.
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

    /** How busy the guest is. */
    enum Level {
        IDLE, MODERATE, HEAVY
    }

    /** How long a new pipeline watches the guest, one copy at a time, before it may run at full depth. */
    static final long PROBE_NANOS = Long.getLong("strata.jobs.guestProbeUs", 2000) * 1000L;
    /** Length of one sampling window. */
    static final long WINDOW_NANOS = Long.getLong("strata.jobs.guestWindowMs", 20) * 1_000_000L;
    /** Guest requests within a window that make it busy at all (~400 IOPS). */
    static final long BUSY_REQUESTS = Long.getLong("strata.jobs.guestBusyRequests", 8);
    /** Guest IOPS from which it counts as heavy. */
    static final long HEAVY_IOPS = Long.getLong("strata.jobs.guestHeavyIops", 25_000);
    /** Guest IOPS below which a heavy guest counts as moderate again. */
    static final long LIGHT_IOPS = Long.getLong("strata.jobs.guestLightIops", 10_000);
    /** Copies in flight while the guest is heavy. */
    static final int BUSY_DEPTH = Integer.getInteger("strata.jobs.busyDepth", 1);
    /** Share of wall time copies may run while the guest is heavy (0 < duty <= 1). */
    static final double BUSY_DUTY = Double.parseDouble(System.getProperty("strata.jobs.busyDuty", "0.4"));

    private final LongSupplier activity;
    private final int busyDepth;
    private final double busyDuty;
    private final long heavyPerWindow = perWindow(HEAVY_IOPS);
    private final long lightPerWindow = perWindow(LIGHT_IOPS);
    private long windowStart;
    private long countAtWindowStart;
    private Level level = Level.HEAVY;
    /** Still in the first {@link #PROBE_NANOS}, with no guest request seen yet. */
    private boolean probing = true;

    /** @param activity a count of guest requests started, only ever growing */
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

    private static long perWindow(long iops) {
        return Math.max(1, iops * WINDOW_NANOS / 1_000_000_000L);
    }

    /** Samples the counter and returns the guest's level now. */
    Level level(long now) {
        long seen = activity.getAsLong() - countAtWindowStart;
        long elapsed = now - windowStart;
        if (probing) {
            if (seen == 0 && elapsed < PROBE_NANOS) {
                return level;
            }
            probing = false;
            if (seen == 0) {
                // silent all through the probe: idle, judged afresh from here on
                level = Level.IDLE;
                windowStart = now;
                return level;
            }
            // the guest is doing I/O: stay HEAVY and judge it by its windows, as below
        }
        if (elapsed < WINDOW_NANOS) {
            // rising: at once, within the window
            Level atLeast = seen >= heavyPerWindow ? Level.HEAVY : seen >= BUSY_REQUESTS ? Level.MODERATE : Level.IDLE;
            if (atLeast.compareTo(level) > 0) {
                level = atLeast;
            }
            return level;
        }
        // a whole window (or more, if nobody looked): the rate it showed; a heavy guest stays
        // heavy down to the light rate, so copies that slow it a little do not talk it down
        long rate = seen * WINDOW_NANOS / elapsed;
        if (rate >= heavyPerWindow || (level == Level.HEAVY && rate >= lightPerWindow)) {
            level = Level.HEAVY;
        } else {
            level = rate >= BUSY_REQUESTS ? Level.MODERATE : Level.IDLE;
        }
        windowStart = now;
        countAtWindowStart += seen;
        return level;
    }

    /** How long a copy held back may wait before the level is worth looking at again. */
    long recheckNanos(long now) {
        return probing ? Math.max(1, PROBE_NANOS - (now - windowStart)) : WINDOW_NANOS;
    }

    /** Copies allowed in flight now. */
    int depth(int fullDepth, Level l) {
        return switch (l) {
            case IDLE -> fullDepth;
            case MODERATE -> Math.max(1, fullDepth / 4);
            case HEAVY -> Math.min(fullDepth, busyDepth);
        };
    }

    /** How long to rest after a copy that took {@code copyNanos}, so copies keep to the duty cycle. */
    long restAfter(long copyNanos, Level l) {
        if (l != Level.HEAVY || busyDuty >= 1 || probing) {
            return 0;
        }
        return (long) (copyNanos * (1 - busyDuty) / busyDuty);
    }
}
