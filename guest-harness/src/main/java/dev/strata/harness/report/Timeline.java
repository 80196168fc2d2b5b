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
 * Any thread may record; {@link #snapshot()} gives an immutable copy for rendering. Guarded by
 * {@code lock}.
 */
public final class Timeline {

    /** One sampling period of one guest workload ({@code series}). */
    public record Sample(long atMillis, String series, double iops, double p99Micros) {
    }

    /** A job's progress at one moment. */
    public record Progress(long atMillis, long offset, long len) {
    }

    /** A job entered {@code status} (QEMU's job status names) at {@code atMillis}. */
    public record Phase(long atMillis, String status) {
    }

    /** One job from creation to disappearance. {@code endMillis} is -1 while it runs. */
    public record JobSpan(String id, String type, long startMillis, long endMillis, String outcome, List<Progress> progress,
                          List<Phase> phases) {
    }

    /** A monitor event worth marking on the time axis, e.g. {@code BLOCK_JOB_READY virtio0}. */
    public record Event(long atMillis, String name, String detail) {
    }

    /** Everything needed to draw the report, frozen. */
    public record Data(long startMillis, long endMillis, List<Sample> samples, List<JobSpan> jobs, List<Event> events,
                       List<String> chainBefore, List<String> chainAfter, String title, long sampleMillis) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final java.util.function.LongSupplier clock;
    private long start;
    private final long sampleMillis;
    private final List<Sample> samples = new ArrayList<>();
    private final List<Event> events = new ArrayList<>();
    private final Map<String, MutableSpan> jobs = new LinkedHashMap<>();
    private final List<JobSpan> finished = new ArrayList<>();
    private List<String> chainBefore = List.of();
    private List<String> chainAfter = List.of();
    private String title = "Strata run";

    private static final class MutableSpan {
        final String id;
        final String type;
        final long start;
        final List<Progress> progress = new ArrayList<>();
        final List<Phase> phases = new ArrayList<>();

        MutableSpan(String id, String type, long start) {
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

    /** One sampling period of workload {@code series}, ending now. */
    public void sample(String series, double iops, double p99Micros) {
        long now = clock.getAsLong();
        withLock(() -> samples.add(new Sample(now, series, iops, p99Micros)));
    }

    public void jobStarted(String id, String type) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = new MutableSpan(id, type, now);
            s.phases.add(new Phase(now, "created"));
            jobs.put(id, s);
        });
    }

    /** The job entered {@code status}; ignored for a job not started (or already ended). */
    public void jobPhase(String id, String status) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = jobs.get(id);
            if (s != null && !status.equals(s.phases.get(s.phases.size() - 1).status())) {
                s.phases.add(new Phase(now, status));
            }
        });
    }

    public void jobProgress(String id, long offset, long len) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = jobs.get(id);
            if (s != null) {
                s.progress.add(new Progress(now, offset, len));
            }
        });
    }

    /** The job is gone; {@code outcome} is e.g. {@code completed}, {@code cancelled}, {@code failed: …}. */
    public void jobEnded(String id, String outcome) {
        long now = clock.getAsLong();
        withLock(() -> {
            MutableSpan s = jobs.remove(id);
            if (s != null) {
                finished.add(new JobSpan(s.id, s.type, s.start, now, outcome, List.copyOf(s.progress), List.copyOf(s.phases)));
            }
        });
    }

    /** A monitor event to mark on the time axis. */
    public void event(String name, String detail) {
        long now = clock.getAsLong();
        withLock(() -> events.add(new Event(now, name, detail)));
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
                all.add(new JobSpan(s.id, s.type, s.start, -1, "running", List.copyOf(s.progress), List.copyOf(s.phases)));
            }
            all.sort(java.util.Comparator.comparingLong(JobSpan::startMillis));
            return new Data(start, now, List.copyOf(samples), all, List.copyOf(events), chainBefore, chainAfter, title,
                    sampleMillis);
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
