package dev.strata.harness.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What happened during a run, recorded as it happens: guest IOPS and p99 latency per second,
 * each job's lifetime and progress, and the backing chain before and after. Any thread may
 * record; {@link #snapshot()} gives an immutable copy for rendering. Guarded by {@code lock}.
 */
public final class Timeline {

    /** One second of guest I/O. */
    public record Sample(long atMillis, double iops, double p99Micros) {
    }

    /** A job's progress at one moment. */
    public record Progress(long atMillis, long offset, long len) {
    }

    /** One job from creation to disappearance. {@code endMillis} is -1 while it runs. */
    public record JobSpan(String id, String type, long startMillis, long endMillis, String outcome, List<Progress> progress) {
    }

    /** Everything needed to draw the report, frozen. */
    public record Data(long startMillis, long endMillis, List<Sample> samples, List<JobSpan> jobs,
                       List<String> chainBefore, List<String> chainAfter, String title) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final long start = System.currentTimeMillis();
    private final List<Sample> samples = new ArrayList<>();
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

        MutableSpan(String id, String type, long start) {
            this.id = id;
            this.type = type;
            this.start = start;
        }
    }

    public void title(String t) {
        withLock(() -> title = t);
    }

    public void sample(double iops, double p99Micros) {
        long now = System.currentTimeMillis();
        withLock(() -> samples.add(new Sample(now, iops, p99Micros)));
    }

    public void jobStarted(String id, String type) {
        long now = System.currentTimeMillis();
        withLock(() -> jobs.put(id, new MutableSpan(id, type, now)));
    }

    public void jobProgress(String id, long offset, long len) {
        long now = System.currentTimeMillis();
        withLock(() -> {
            MutableSpan s = jobs.get(id);
            if (s != null) {
                s.progress.add(new Progress(now, offset, len));
            }
        });
    }

    /** The job is gone; {@code outcome} is e.g. {@code completed}, {@code cancelled}, {@code failed: …}. */
    public void jobEnded(String id, String outcome) {
        long now = System.currentTimeMillis();
        withLock(() -> {
            MutableSpan s = jobs.remove(id);
            if (s != null) {
                finished.add(new JobSpan(s.id, s.type, s.start, now, outcome, List.copyOf(s.progress)));
            }
        });
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
            long now = System.currentTimeMillis();
            List<JobSpan> all = new ArrayList<>(finished);
            for (MutableSpan s : jobs.values()) {
                all.add(new JobSpan(s.id, s.type, s.start, -1, "running", List.copyOf(s.progress)));
            }
            all.sort(java.util.Comparator.comparingLong(JobSpan::startMillis));
            return new Data(start, now, List.copyOf(samples), all, chainBefore, chainAfter, title);
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
