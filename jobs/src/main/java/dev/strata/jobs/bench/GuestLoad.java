package dev.strata.jobs.bench;

import dev.strata.blockdrv.BlockBackend;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A guest-like load for the benchmark: {@code depth} virtual threads doing 4 KiB random I/O
 * through a drive ({@code readPercent} % reads, 70 by default), recording every latency. With a
 * rate ({@code iops} &gt; 0) each thread issues its share of requests on a fixed schedule, the way
 * a guest with a steady workload does; a request that comes back late is followed at once by the
 * next one due, so a slow drive shows as fewer IOPS, not as a hidden backlog. Not a verifier (the
 * tests do that); it measures IOPS and p99 latency. Started and stopped by one thread.
 */
final class GuestLoad {

    private final BlockBackend drive;
    private final int depth;
    private final long iops;
    private final int readPercent;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<Thread> threads = new ArrayList<>();
    private final List<long[]> perThread = new ArrayList<>();
    private final int[] counts;
    private long startNs;
    private long endNs;

    GuestLoad(BlockBackend drive, int depth) {
        this(drive, depth, 0, 70);
    }

    /** @param iops requests per second over all threads, 0 for as fast as the drive goes */
    GuestLoad(BlockBackend drive, int depth, long iops, int readPercent) {
        this.drive = drive;
        this.depth = depth;
        this.iops = iops;
        this.readPercent = readPercent;
        this.counts = new int[depth];
    }

    GuestLoad start() {
        startNs = System.nanoTime();
        for (int t = 0; t < depth; t++) {
            long[] lat = new long[1 << 22];
            perThread.add(lat);
            int me = t;
            threads.add(Thread.ofVirtual().start(() -> loop(me, lat)));
        }
        return this;
    }

    private void loop(int me, long[] lat) {
        Random rnd = new Random(me);
        ByteBuffer buf = ByteBuffer.allocate(4096);
        long blocks = drive.size() / 4096;
        long interval = iops > 0 ? 1_000_000_000L * depth / iops : 0;
        // threads start spread over one interval, so the drive sees a steady stream, not bursts
        long due = System.nanoTime() + interval * me / depth;
        int n = 0;
        while (!stop.get() && n < lat.length) {
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
            lat[n++] = System.nanoTime() - t0;
        }
        counts[me] = n;
    }

    /** Stops and returns {IOPS, p99 latency in microseconds}. */
    double[] stop() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        endNs = System.nanoTime();
        int total = Arrays.stream(counts).sum();
        long[] all = new long[total];
        int pos = 0;
        for (int t = 0; t < depth; t++) {
            System.arraycopy(perThread.get(t), 0, all, pos, counts[t]);
            pos += counts[t];
        }
        Arrays.sort(all);
        double iops = total / ((endNs - startNs) / 1e9);
        double p99 = total == 0 ? 0 : all[(int) Math.min(total - 1, (long) (total * 0.99))] / 1000.0;
        return new double[] {iops, p99};
    }
}
