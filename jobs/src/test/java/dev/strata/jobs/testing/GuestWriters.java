package dev.strata.jobs.testing;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Concurrent guest I/O through the drive while a job runs: each of {@code n} writers owns the
 * 4 KiB blocks {@code b} with {@code b % n == w} inside {@code [from, to)}, writes stamped data
 * (sometimes unaligned pieces) and reads its blocks back, checking them against the chain's
 * model. Owning disjoint blocks keeps the model exact while the writers still share clusters.
 */
public final class GuestWriters {

    private static final int BLOCK = 4096;

    private final TestChain chain;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    public final AtomicLong writes = new AtomicLong();
    public final AtomicLong reads = new AtomicLong();
    public final AtomicLong mismatches = new AtomicLong();
    public final List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());

    private volatile long thinkNanos = 200_000;

    public GuestWriters(TestChain chain, int n, long from, long to, long seed) {
        this.chain = chain;
        for (int w = 0; w < n; w++) {
            int who = w;
            threads.add(Thread.ofVirtual().unstarted(() -> loop(who, n, from, to, new Random(seed * 31 + who))));
        }
    }

    /** Pause between one writer's requests (default 0.2 ms), so a job still finds data to copy. */
    public GuestWriters think(long nanos) {
        thinkNanos = nanos;
        return this;
    }

    public GuestWriters start() {
        threads.forEach(Thread::start);
        return this;
    }

    private void loop(int who, int n, long from, long to, Random rnd) {
        long firstBlock = (from + BLOCK - 1) / BLOCK;
        long blocks = to / BLOCK - firstBlock;
        long seq = 0;
        try {
            while (!stop.get()) {
                if (thinkNanos > 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(thinkNanos);
                }
                long b = firstBlock + (rnd.nextLong(blocks) / n) * n + who;
                if (b >= to / BLOCK) {
                    continue;
                }
                long off = b * BLOCK;
                if (rnd.nextInt(3) == 0) {
                    ByteBuffer got = ByteBuffer.allocate(BLOCK);
                    chain.backend.read(off, got);
                    reads.incrementAndGet();
                    if (!Arrays.equals(got.array(), 0, BLOCK, chain.model, (int) off, (int) off + BLOCK)) {
                        mismatches.incrementAndGet();
                    }
                    continue;
                }
                int start = rnd.nextBoolean() ? 0 : rnd.nextInt(BLOCK - 1);
                int len = 1 + rnd.nextInt(BLOCK - start);
                byte[] data = TestChain.stamp(0x57000000 | who, seq++, len);
                chain.backend.write(off + start, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, chain.model, (int) off + start, len);
                writes.incrementAndGet();
            }
        } catch (Throwable t) {
            errors.add(t);
        }
    }

    /** Stops and joins the writers. */
    public void stop() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
    }
}
