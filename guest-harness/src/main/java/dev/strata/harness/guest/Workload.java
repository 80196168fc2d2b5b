package dev.strata.harness.guest;

import dev.strata.device.VmRunState;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One running workload: {@code iodepth} guest threads, each with its own buffer in guest memory,
 * issuing requests through a {@link GuestDisk} as the {@link WorkloadSpec} says, with optional
 * verification through the disk's shared {@link Verifier}. A reporter thread publishes a
 * {@link GuestTick} every {@value #TICK_MILLIS} ms (for timelines that must show a two-second run)
 * and an {@link IntervalReport} every second, built from the same ten ticks.
 *
 * <p>Thread safety: control methods from any thread. Each worker owns its counters and histogram
 * (atomics, read by the reporter); the interval list is guarded by {@code reportLock}.
 */
public final class Workload {

    private static final int KEEP_INTERVALS = 3600;
    /** The fine sampling period; a second holds a whole number of ticks. */
    public static final int TICK_MILLIS = 100;

    private final WorkloadSpec spec;
    private final GuestDisk disk;
    private final Verifier verifier;
    private final VmRunState vm;
    private final String name;
    private final long windowStart;
    private final long blocks;
    private final Worker[] workers;
    private final AtomicLong seqCursor = new AtomicLong();
    private final AtomicLong issued = new AtomicLong();
    private final AtomicLong nextSlot = new AtomicLong();
    private final List<Consumer<IntervalReport>> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<GuestTick>> tickListeners = new CopyOnWriteArrayList<>();
    /** The last second's ticks, newest last, for a sliding "last second" that also works in the first one. */
    private final ArrayDeque<RecentTick> recent = new ArrayDeque<>();

    private record RecentTick(long nanos, long operations, long bytes, long errors, LatencyHistogram latencies) {
    }
    private final ReentrantLock reportLock = new ReentrantLock();
    private final ArrayDeque<IntervalReport> intervals = new ArrayDeque<>();
    private final LatencyHistogram total = new LatencyHistogram();
    /** The ticks of the second in progress (the reporter adds, {@link #result()} reads; atomic buckets). */
    private final LatencyHistogram currentSecond = new LatencyHistogram();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;
    private volatile long startNanos;
    private volatile long endNanos;
    private Thread reporter;

    private final class Worker implements Runnable {
        final int index;
        final GuestBuffer buf;
        final LatencyHistogram hist = new LatencyHistogram();
        final AtomicLong reads = new AtomicLong();
        final AtomicLong writes = new AtomicLong();
        final AtomicLong flushes = new AtomicLong();
        final AtomicLong readBytes = new AtomicLong();
        final AtomicLong writeBytes = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong verifyFailures = new AtomicLong();
        final AtomicLong checkedReads = new AtomicLong();

        Worker(int index, GuestBuffer buf) {
            this.index = index;
            this.buf = buf;
        }

        @Override
        public void run() {
            int reader = verifier != null ? verifier.registerReader() : -1;
            SplittableRandom rnd = new SplittableRandom(spec.seed() * 0x9E3779B97F4A7C15L + index);
            long deadline = spec.runtime() == null ? Long.MAX_VALUE : startNanos + spec.runtime().toNanos();
            long interval = spec.rateIops() > 0 ? TimeUnit.SECONDS.toNanos(1) / spec.rateIops() : 0;
            int bs = spec.blockSize();
            long writesSinceFlush = 0;
            while (!stopping && System.nanoTime() < deadline) {
                if (spec.numberIos() > 0 && issued.getAndIncrement() >= spec.numberIos()) {
                    break;
                }
                if (interval > 0) {
                    long wait = nextSlot.getAndAdd(interval) - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                }
                if (!vm.awaitRunning() || stopping) {
                    break; // stopped while the machine was paused: issue nothing more
                }
                boolean read = switch (spec.rw()) {
                    case READ, RANDREAD -> true;
                    case WRITE, RANDWRITE -> false;
                    case RANDRW -> rnd.nextInt(100) < spec.rwMixRead();
                };
                long block = spec.rw().random() ? rnd.nextLong(blocks) : Math.floorMod(seqCursor.getAndIncrement(), blocks);
                long offset = windowStart + block * bs;
                IoResult r;
                long t0;
                if (read) {
                    long since = verifier != null ? verifier.beginRead(reader) : 0;
                    t0 = System.nanoTime();
                    r = disk.read(offset, buf);
                    hist.record(System.nanoTime() - t0);
                    reads.incrementAndGet();
                    if (verifier != null) {
                        if (r.ok()) {
                            verifyFailures.addAndGet(verifier.checkRead(reader, since, offset, buf));
                            checkedReads.incrementAndGet();
                        } else {
                            verifier.abandonRead(reader);
                        }
                    }
                    if (r.ok()) {
                        readBytes.addAndGet(bs);
                    }
                } else {
                    long seq = verifier != null ? verifier.beginWrite(offset, buf) : 0;
                    t0 = System.nanoTime();
                    r = disk.write(offset, buf);
                    hist.record(System.nanoTime() - t0);
                    writes.incrementAndGet();
                    if (verifier != null) {
                        verifier.endWrite(offset, bs, seq, r.ok());
                    }
                    if (r.ok()) {
                        writeBytes.addAndGet(bs);
                    }
                    writesSinceFlush++;
                }
                if (r == IoResult.ABORTED) {
                    break;
                }
                if (!r.ok()) {
                    errors.incrementAndGet();
                }
                if (!read && spec.fsync() > 0 && writesSinceFlush >= spec.fsync()) {
                    writesSinceFlush = 0;
                    flush();
                }
            }
        }

        private void flush() {
            Verifier.Flush f = verifier != null ? verifier.beginFlush() : null;
            IoResult r = disk.flush();
            flushes.incrementAndGet();
            if (f != null) {
                verifier.endFlush(f, r.ok());
            }
            if (!r.ok() && r != IoResult.ABORTED) {
                errors.incrementAndGet();
            }
        }
    }

    /**
     * Prepares a workload: allocates one {@code bs} buffer per iodepth from {@code alloc}.
     *
     * @param verifier the disk's verifier when {@code spec.verify()}, else null
     */
    public Workload(WorkloadSpec spec, GuestDisk disk, GuestAllocator alloc, Verifier verifier, VmRunState vm) {
        if (spec.verify() && verifier == null) {
            throw new IllegalArgumentException("verify=on needs the disk's verifier");
        }
        this.spec = spec;
        this.disk = disk;
        this.verifier = spec.verify() ? verifier : null;
        this.vm = vm;
        this.name = spec.displayName(disk.driveId());
        long cap = disk.capacity();
        if (spec.offset() >= cap) {
            throw new IllegalArgumentException("guest workload " + name + ": offset " + spec.offset()
                    + " is beyond the end of " + disk.driveId() + " (" + cap + " bytes)");
        }
        this.windowStart = spec.offset();
        long len = spec.size() == 0 ? cap - spec.offset() : Math.min(spec.size(), cap - spec.offset());
        this.blocks = len / spec.blockSize();
        if (blocks == 0) {
            throw new IllegalArgumentException("guest workload " + name + ": window of " + len
                    + " bytes holds no block of bs=" + spec.blockSize());
        }
        this.workers = new Worker[spec.ioDepth()];
        for (int i = 0; i < workers.length; i++) {
            GuestBuffer b = alloc.allocate(spec.blockSize(), 4096);
            byte[] pattern = new byte[spec.blockSize()];
            new SplittableRandom(spec.seed() + i).nextBytes(pattern);
            alloc.memory().write(b.address(), pattern);
            workers[i] = new Worker(i, b);
        }
    }

    public String name() {
        return name;
    }

    /** The drive id of the disk it runs on. */
    public String drive() {
        return disk.driveId();
    }

    public WorkloadSpec spec() {
        return spec;
    }

    /** The window's first byte and length (what verification must have covered). */
    public long windowStart() {
        return windowStart;
    }

    public long windowLength() {
        return blocks * spec.blockSize();
    }

    /** Receives each second's figures on the reporter thread. */
    public void onInterval(Consumer<IntervalReport> listener) {
        listeners.add(listener);
    }

    /** Receives each {@value #TICK_MILLIS} ms's figures on the reporter thread. */
    public void onTick(Consumer<GuestTick> listener) {
        tickListeners.add(listener);
    }

    /** Starts the workers and the reporter. */
    public void start() {
        startNanos = System.nanoTime();
        nextSlot.set(startNanos);
        for (Worker w : workers) {
            threads.add(Thread.ofVirtual().name("guest-" + name + "-" + w.index).start(w));
        }
        reporter = Thread.ofVirtual().name("guest-" + name + "-stats").start(this::report);
    }

    /** Asks the workers to stop after their current request. */
    public void stop() {
        stopping = true;
    }

    public boolean isRunning() {
        for (Thread t : threads) {
            if (t.isAlive()) {
                return true;
            }
        }
        return false;
    }

    /** Waits for every worker (and the reporter) to end. */
    public boolean await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                return false;
            }
        }
        if (reporter != null) {
            long left = Math.max(1, deadline - System.nanoTime());
            return reporter.join(Duration.ofNanos(left));
        }
        return true;
    }

    private void report() {
        LatencyHistogram tick = new LatencyHistogram();
        LatencyHistogram second = currentSecond;
        long tickNanos = TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
        int ticksPerSecond = (int) (TimeUnit.SECONDS.toNanos(1) / tickNanos);
        long[] lastTick = new long[6];
        long[] lastSecond = new long[6];
        long lastTickAt = startNanos;
        long lastSecondAt = startNanos;
        long ticks = 0;
        boolean done = false;
        while (!done) {
            long next = startNanos + (ticks + 1) * tickNanos;
            while (isRunning() && System.nanoTime() < next) {
                LockSupport.parkNanos(Math.min(next - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(50)));
            }
            done = !isRunning();
            if (done) {
                endNanos = System.nanoTime();
            }
            ticks++;
            long now = System.nanoTime();
            long[] cur = totals();
            for (Worker w : workers) {
                w.hist.drainInto(tick);
            }
            publishTick(now, cur, lastTick, lastTickAt, tick);
            remember(new RecentTick(now - lastTickAt, cur[0] - lastTick[0] + cur[1] - lastTick[1],
                    cur[2] - lastTick[2] + cur[3] - lastTick[3], cur[4] - lastTick[4], tick), ticksPerSecond);
            second.add(tick);
            tick.reset();
            lastTick = cur;
            lastTickAt = now;
            if (ticks % ticksPerSecond == 0 || done) {
                publishSecond(ticks / ticksPerSecond + (ticks % ticksPerSecond == 0 ? 0 : 1), now, cur, lastSecond,
                        lastSecondAt, second);
                total.add(second);
                second.reset();
                lastSecond = cur;
                lastSecondAt = now;
            }
        }
    }

    private void remember(RecentTick t, int keep) {
        LatencyHistogram copy = new LatencyHistogram();
        copy.add(t.latencies());
        reportLock.lock();
        try {
            recent.addLast(new RecentTick(t.nanos(), t.operations(), t.bytes(), t.errors(), copy));
            while (recent.size() > keep) {
                recent.removeFirst();
            }
        } finally {
            reportLock.unlock();
        }
    }

    /**
     * The figures of the last second (the ticks of it that have passed, so also during the first
     * second); {@code atMillis} is the time since start. All zero before the first tick.
     */
    public GuestTick lastSecond() {
        long nanos = 0;
        long ops = 0;
        long bytes = 0;
        long errors = 0;
        LatencyHistogram h = new LatencyHistogram();
        reportLock.lock();
        try {
            for (RecentTick t : recent) {
                nanos += t.nanos();
                ops += t.operations();
                bytes += t.bytes();
                errors += t.errors();
                h.add(t.latencies());
            }
        } finally {
            reportLock.unlock();
        }
        double secs = Math.max(1e-9, nanos / 1e9);
        return new GuestTick(name, disk.driveId(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos),
                nanos == 0 ? 0 : ops / secs, nanos == 0 ? 0 : bytes / secs, h.percentile(50), h.percentile(99), errors);
    }

    private void publishTick(long now, long[] cur, long[] last, long lastAt, LatencyHistogram h) {
        if (tickListeners.isEmpty()) {
            return;
        }
        double secs = Math.max(1e-9, (now - lastAt) / 1e9);
        GuestTick t = new GuestTick(name, disk.driveId(), TimeUnit.NANOSECONDS.toMillis(now - startNanos),
                (cur[0] - last[0] + cur[1] - last[1]) / secs, (cur[2] - last[2] + cur[3] - last[3]) / secs,
                h.percentile(50), h.percentile(99), cur[4] - last[4]);
        for (Consumer<GuestTick> l : tickListeners) {
            l.accept(t);
        }
    }

    private void publishSecond(long second, long now, long[] cur, long[] last, long lastAt, LatencyHistogram h) {
        double secs = Math.max(1e-9, (now - lastAt) / 1e9);
        IntervalReport r = new IntervalReport(name, disk.driveId(), second,
                (cur[0] - last[0]) / secs, (cur[1] - last[1]) / secs, (cur[2] - last[2]) / secs,
                (cur[3] - last[3]) / secs, h.percentile(50), h.percentile(99),
                h.percentile(99.9), cur[4] - last[4], cur[5] - last[5]);
        reportLock.lock();
        try {
            intervals.addLast(r);
            if (intervals.size() > KEEP_INTERVALS) {
                intervals.removeFirst();
            }
        } finally {
            reportLock.unlock();
        }
        for (Consumer<IntervalReport> l : listeners) {
            l.accept(r);
        }
    }

    /** reads, writes, readBytes, writeBytes, errors, verifyFailures summed over workers. */
    private long[] totals() {
        long[] t = new long[6];
        for (Worker w : workers) {
            t[0] += w.reads.get();
            t[1] += w.writes.get();
            t[2] += w.readBytes.get();
            t[3] += w.writeBytes.get();
            t[4] += w.errors.get();
            t[5] += w.verifyFailures.get();
        }
        return t;
    }

    /** The figures of the last {@code n} intervals, oldest first. */
    public List<IntervalReport> intervals() {
        reportLock.lock();
        try {
            return List.copyOf(intervals);
        } finally {
            reportLock.unlock();
        }
    }

    /** Reads and writes completed so far. */
    public long operations() {
        long[] t = totals();
        return t[0] + t[1];
    }

    /** Sectors found wrong by this workload's reads so far. */
    public long verifyFailures() {
        return totals()[5];
    }

    /** Reads whose data was checked against the verifier's shadow map so far (0 without verify=on). */
    public long checkedReads() {
        long n = 0;
        for (Worker w : workers) {
            n += w.checkedReads.get();
        }
        return n;
    }

    /** Totals so far (final once {@link #await} returned true). */
    public WorkloadResult result() {
        long[] t = totals();
        long flushes = 0;
        for (Worker w : workers) {
            flushes += w.flushes.get();
        }
        LatencyHistogram all = new LatencyHistogram();
        all.add(total);
        if (reporter == null || reporter.isAlive()) {
            all.add(currentSecond);
            for (Worker w : workers) {
                all.add(w.hist);
            }
        }
        long end = endNanos != 0 ? endNanos : System.nanoTime();
        return new WorkloadResult(name, disk.driveId(), Duration.ofNanos(Math.max(0, end - startNanos)), t[0], t[1],
                flushes, t[2], t[3], t[4], t[5], all.percentile(50), all.percentile(99), all.percentile(99.9), all.max());
    }
}
