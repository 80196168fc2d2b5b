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
 * verification through the disk's shared {@link Verifier}. A reporter thread publishes an
 * {@link IntervalReport} every second.
 *
 * <p>Thread safety: control methods from any thread. Each worker owns its counters and histogram
 * (atomics, read by the reporter); the interval list is guarded by {@code reportLock}.
 */
public final class Workload {

    private static final int KEEP_INTERVALS = 3600;

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
    private final ReentrantLock reportLock = new ReentrantLock();
    private final ArrayDeque<IntervalReport> intervals = new ArrayDeque<>();
    private final LatencyHistogram total = new LatencyHistogram();
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
                if (!vm.awaitRunning()) {
                    break;
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
        LatencyHistogram interval = new LatencyHistogram();
        long[] last = new long[6];
        long lastAt = startNanos;
        long second = 0;
        boolean done = false;
        while (!done) {
            long next = startNanos + TimeUnit.SECONDS.toNanos(second + 1);
            while (isRunning() && System.nanoTime() < next) {
                LockSupport.parkNanos(Math.min(next - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(50)));
            }
            done = !isRunning();
            if (done) {
                endNanos = System.nanoTime();
            }
            second++;
            long now = System.nanoTime();
            long[] cur = totals();
            for (Worker w : workers) {
                w.hist.drainInto(interval);
            }
            total.add(interval);
            double secs = Math.max(1e-9, (now - lastAt) / 1e9);
            IntervalReport r = new IntervalReport(name, disk.driveId(), second,
                    (cur[0] - last[0]) / secs, (cur[1] - last[1]) / secs, (cur[2] - last[2]) / secs,
                    (cur[3] - last[3]) / secs, interval.percentile(50), interval.percentile(99),
                    interval.percentile(99.9), cur[4] - last[4], cur[5] - last[5]);
            interval.reset();
            last = cur;
            lastAt = now;
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
            for (Worker w : workers) {
                all.add(w.hist);
            }
        }
        long end = endNanos != 0 ? endNanos : System.nanoTime();
        return new WorkloadResult(name, disk.driveId(), Duration.ofNanos(Math.max(0, end - startNanos)), t[0], t[1],
                flushes, t[2], t[3], t[4], t[5], all.percentile(50), all.percentile(99), all.percentile(99.9), all.max());
    }
}
