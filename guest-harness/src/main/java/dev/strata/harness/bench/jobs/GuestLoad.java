package dev.strata.harness.bench.jobs;

import dev.strata.blockdrv.BlockBackend;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A guest-like load for the benchmark: {@code depth} virtual threads doing 4 KiB random I/O
 * through a drive ({@code readPercent} % reads, 70 by default), recording every latency. With a
 * rate ({@code iops} &gt; 0) each thread issues its share of requests on a fixed schedule, the way
 * a guest with a steady workload does; a request that comes back late is followed at once by the
 * next one due, so a slow drive shows as fewer IOPS, not as a hidden backlog.
 *
 * <p>Measurements are windows between two {@link #mark()}s on the same running load, so a job's
 * "during" can be compared with "idle" windows right before and after it on the same drive: on a
 * shared 2-core host the idle rate drifts by a factor of two within a minute. Not a verifier (the
 * tests do that). Started, marked and stopped by one thread; each worker owns its own slots.
 */
final class GuestLoad {

    /** Where every worker was at one moment. */
    record Mark(long nanos, int[] done) {
    }

    /** Latency samples one thread keeps at most (a minute at 300k IOPS over 8 threads fits). */
    private static final int MAX_SAMPLES = 1 << 22;

    private final BlockBackend drive;
    private final int depth;
    private final long iops;
    private final int readPercent;
    /** Bytes from the start of the disk the load touches (its working set); the whole disk when 0. */
    private final long span;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<Thread> threads = new ArrayList<>();
    /** Requests each worker has completed (its own slot, written after every request). */
    private final AtomicIntegerArray done;
    /** Each worker's latencies, handed over when it ends (read only after join). */
    private final long[][] latencies;
    private Mark first;

    GuestLoad(BlockBackend drive, int depth) {
        this(drive, depth, 0, 70);
    }

    /** @param iops requests per second over all threads, 0 for as fast as the drive goes */
    GuestLoad(BlockBackend drive, int depth, long iops, int readPercent) {
        this(drive, depth, iops, readPercent, 0);
    }

    /** @param span bytes from the start of the disk the load keeps to, 0 for the whole disk */
    GuestLoad(BlockBackend drive, int depth, long iops, int readPercent, long span) {
        this.span = span;
        this.drive = drive;
        this.depth = depth;
        this.iops = iops;
        this.readPercent = readPercent;
        this.done = new AtomicIntegerArray(depth);
        this.latencies = new long[depth][];
    }

    /**
     * Starts the threads and returns after a warm-up of 300 ms that no window includes: thread
     * start, first allocations and JIT would otherwise weigh on a half-second window far more than
     * on a two-second one.
     */
    GuestLoad start() throws InterruptedException {
        for (int t = 0; t < depth; t++) {
            int me = t;
            threads.add(Thread.ofVirtual().start(() -> loop(me)));
        }
        Thread.sleep(300);
        first = mark();
        return this;
    }

    Mark mark() {
        int[] d = new int[depth];
        for (int t = 0; t < depth; t++) {
            d[t] = done.get(t);
        }
        return new Mark(System.nanoTime(), d);
    }

    private void loop(int me) {
        Random rnd = new Random(me);
        ByteBuffer buf = ByteBuffer.allocate(4096);
        long[] lat = new long[1 << 14];
        long blocks = (span > 0 ? Math.min(span, drive.size()) : drive.size()) / 4096;
        long interval = iops > 0 ? 1_000_000_000L * depth / iops : 0;
        // threads start spread over one interval, so the drive sees a steady stream, not bursts
        long due = System.nanoTime() + interval * me / depth;
        int n = 0;
        try {
            while (!stop.get() && n < MAX_SAMPLES) {
                if (interval > 0) {
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                        continue;   // re-check stop and the clock (parks may end early)
                    }
                    due = Math.max(due + interval, System.nanoTime() - interval);
                }
                long off = rnd.nextLong(blocks) * 4096;
                buf.clear();
                long t0 = System.nanoTime();
                if (rnd.nextInt(100) < readPercent) {
                    drive.read(off, buf);
                } else {
                    drive.write(off, buf);
                }
                if (n == lat.length) {
                    lat = Arrays.copyOf(lat, lat.length * 2);
                }
                lat[n++] = System.nanoTime() - t0;
                done.lazySet(me, n);
            }
        } finally {
            latencies[me] = lat;
        }
    }

    /** Stops and returns {IOPS, p99 latency in microseconds} from the end of the warm-up to now. */
    double[] stop() throws InterruptedException {
        Mark last = mark();
        halt();
        return window(first, last);
    }

    /** Stops the threads; windows can be read afterwards. */
    void halt() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
    }

    /** {IOPS, p99 us} over the windows {@code [marks[0], marks[1])}, {@code [marks[2], marks[3])}, ... (after {@link #halt}). */
    double[] window(Mark... marks) {
        long nanos = 0;
        int total = 0;
        for (int i = 0; i + 1 < marks.length; i += 2) {
            nanos += marks[i + 1].nanos() - marks[i].nanos();
            for (int t = 0; t < depth; t++) {
                total += marks[i + 1].done()[t] - marks[i].done()[t];
            }
        }
        long[] all = new long[total];
        int pos = 0;
        for (int i = 0; i + 1 < marks.length; i += 2) {
            for (int t = 0; t < depth; t++) {
                int from = marks[i].done()[t];
                int n = marks[i + 1].done()[t] - from;
                System.arraycopy(latencies[t], from, all, pos, n);
                pos += n;
            }
        }
        Arrays.sort(all);
        double rate = nanos == 0 ? 0 : total / (nanos / 1e9);
        double p99 = total == 0 ? 0 : all[(int) Math.min(total - 1, (long) (total * 0.99))] / 1000.0;
        return new double[] {rate, p99};
    }
}
