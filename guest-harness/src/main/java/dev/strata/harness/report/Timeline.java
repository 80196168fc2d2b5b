package dev.strata.harness.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What happened during a run, recorded as it happens: each guest workload's IOPS and p99 latency
 * every {@link #sampleMillis()} ms, each job's lifetime, phases ({@code created}, {@code running},
 * {@code ready}, ...) and progress, the monitor's events, and the backing chain before and after.
 * A run with several machines records each under its machine's name ({@link #machineStarted};
 * the methods without a machine record under {@code ""}), so the report can label both ends.
 * Any thread may record; {@link #snapshot()} gives an immutable copy for rendering. Guarded by
 * {@code lock}.
 */
public final class Timeline {

    /**
     * One sampling period of one guest workload ({@code series}) of machine {@code machine}
     * ({@code ""}: the run's first, unnamed machine).
     */
    public record Sample(long atMillis, String machine, String series, double iops, double p99Micros) {
    }

    /** A job's progress at one moment. */
    public record Progress(long atMillis, long offset, long len) {
    }

    /** A job entered {@code status} (QEMU's job status names) at {@code atMillis}. */
    public record Phase(long atMillis, String status) {
    }

    /** One job from creation to disappearance. {@code endMillis} is -1 while it runs. */
    public record JobSpan(String machine, String id, String type, long startMillis, long endMillis, String outcome, List<Progress> progress,
                          List<Phase> phases) {
    }

    /** A monitor event worth marking on the time axis, e.g. {@code BLOCK_JOB_READY virtio0}. */
    public record Event(long atMillis, String machine, String name, String detail) {
    }

    /**
     * Everything needed to draw the report, frozen. {@code machines} names the machines in the
     * order they started (empty or one entry: a run with one machine, drawn without labels).
     */
    public record Data(long startMillis, long endMillis, List<Sample> samples, List<JobSpan> jobs, List<Event> events,
                       List<String> chainBefore, List<String> chainAfter, String title, long sampleMillis,
                       List<String> machines) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final java.util.function.LongSupplier clock;
    private long start;
    private final long sampleMillis;
    private final List<Sample> samples = new ArrayList<>();
    private final List<Event> events = new ArrayList<>();
    private final Map<String, MutableSpan> jobs = new LinkedHashMap<>();
    private final List<JobSpan> finished = new ArrayList<>();
    private final List<String> machines = new ArrayList<>();
    private List<String> chainBefore = List.of();
    private List<String> chainAfter = List.of();
    private String title = "Strata run";

    private static final class MutableSpan {
        final String machine;
        final String id;
        final String type;
        final long start;
        final List<Progress> progress = new ArrayList<>();
        final List<Phase> phases = new ArrayList<>();

        MutableSpan(String machine, String id, String type, long start) {
            this.machine = machine;
            this.id = id;
            this.type = type;
            this.start = start;
        }
    }

    /** A timeline whose guest samples come every {@code sampleMillis} ms (stated in the report). */
    public Timeline(long sampleMillis) {
        this(sampleMillis, System::currentTimeMillis);
    }

    /** With its own clock (milliseconds): tests draw a ten-minute run without waiting ten minutes. */
    Timeline(long sampleMillis, java.util.function.LongSupplier clock) {
        this.sampleMillis = sampleMillis;
        this.clock = clock;
        this.start = clock.getAsLong();
    }

    public Timeline() {
        this(1000);
    }

    public long sampleMillis() {
        return sampleMillis;
    }

    /** Starts the time axis now (when the machine starts), dropping nothing recorded later. */
    public void begin() {
        long now = clock.getAsLong();
        withLock(() -> start = now);
    }

    public void title(String t) {
        withLock(() -> title = t);
    }

    /** A machine of the run started; its name labels what it records (report rows, lanes, lines). */
    public void machineStarted(String machine) {
        withLock(() -> machines.add(machine));
    }

    /** One sampling period of workload {@code series}, ending now. */
    public void sample(String series, double iops, double p99Micros) {
        sample("", series, iops, p99Micros);
    }

    /** One sampling period of workload {@code series} of {@code machine}, ending now. */
    public void sample(String machine, String series, double iops, double p99Micros) {
        long now = clock.getAsLong();
        withLock(() -> samples.add(new Sample(now, machine, series, iops, p99Micros)));
    }

    public void jobStarted(String id, String type) {
        jobStarted("", id, type);
    }

    public void jobStarted(String machine, String id, String type) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = new MutableSpan(machine, id, type, now);
            s.phases.add(new Phase(now, "created"));
            jobs.put(key(machine, id), s);
        });
    }

    /** Jobs of two machines may share an id (both drives are virtio0). */
    private static String key(String machine, String id) {
        return machine + "\u0000" + id;
    }

    public void jobPhase(String id, String status) {
        jobPhase("", id, status);
    }

    /** The job entered {@code status}; ignored for a job not started (or already ended). */
    public void jobPhase(String machine, String id, String status) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = jobs.get(key(machine, id));
            if (s != null && !status.equals(s.phases.get(s.phases.size() - 1).status())) {
                s.phases.add(new Phase(now, status));
            }
        });
    }

    public void jobProgress(String id, long offset, long len) {
        jobProgress("", id, offset, len);
    }

    public void jobProgress(String machine, String id, long offset, long len) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = jobs.get(key(machine, id));
            if (s != null) {
                s.progress.add(new Progress(now, offset, len));
            }
        });
    }

    /** The job is gone; {@code outcome} is e.g. {@code completed}, {@code cancelled}, {@code failed: …}. */
    public void jobEnded(String id, String outcome) {
        jobEnded("", id, outcome);
    }

    public void jobEnded(String machine, String id, String outcome) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = jobs.remove(key(machine, id));
            if (s != null) {
                finished.add(new JobSpan(s.machine, s.id, s.type, s.start, now, outcome, List.copyOf(s.progress), List.copyOf(s.phases)));
            }
        });
    }

    /** A monitor event to mark on the time axis. */
    public void event(String name, String detail) {
        event("", name, detail);
    }

    /** An event of {@code machine} to mark on the time axis. */
    public void event(String machine, String name, String detail) {
        long now = clock.getAsLong();
        withLock(() -> events.add(new Event(now, machine, name, detail)));
    }

    public void chainBefore(List<String> chain) {
        withLock(() -> chainBefore = List.copyOf(chain));
    }

    public void chainAfter(List<String> chain) {
        withLock(() -> chainAfter = List.copyOf(chain));
    }

    public Data snapshot() {
        lock.lock();
        try {
            long now = clock.getAsLong();
            List<JobSpan> all = new ArrayList<>(finished);
            for (MutableSpan s : jobs.values()) {
                all.add(new JobSpan(s.machine, s.id, s.type, s.start, -1, "running", List.copyOf(s.progress), List.copyOf(s.phases)));
            }
            all.sort(java.util.Comparator.comparingLong(JobSpan::startMillis));
            return new Data(start, now, List.copyOf(samples), all, List.copyOf(events), chainBefore, chainAfter, title,
                    sampleMillis, List.copyOf(machines));
        } finally {
            lock.unlock();
        }
    }

    private void withLock(Runnable r) {
        lock.lock();
        try {
            r.run();
        } finally {
            lock.unlock();
        }
    }
}
