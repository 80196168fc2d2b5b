package dev.strata.blockdrv;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A memory-backed test driver that can hold requests open (a latch) and records the most
 * requests it ever saw at once per cluster, so tests can see what the generic path let through.
 */
final class RecordingDriver implements BlockDriver {

    final byte[] data;
    final int cluster;
    volatile CountDownLatch gate = new CountDownLatch(0);
    /** Extra time each write takes, so writes overlap in time. */
    volatile long writeDelayMillis;
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger maxActive = new AtomicInteger();
    final ConcurrentHashMap<Long, AtomicInteger> perCluster = new ConcurrentHashMap<>();
    final AtomicInteger clusterOverlap = new AtomicInteger();

    RecordingDriver(int size, int cluster) {
        this.data = new byte[size];
        this.cluster = cluster;
    }

    static BlockNode node(RecordingDriver d) {
        BlockNode n = new BlockNode("rec", false, false, NodeCache.DEFAULT);
        n.bind(d);
        return n;
    }

    @Override
    public String formatName() {
        return "recording";
    }

    @Override
    public long size() {
        return data.length;
    }

    private void enter(long offset, int len, boolean write) {
        int now = active.incrementAndGet();
        maxActive.accumulateAndGet(now, Math::max);
        if (write) {
            for (long c = offset / cluster; c <= (offset + len - 1) / cluster; c++) {
                if (perCluster.computeIfAbsent(c, k -> new AtomicInteger()).incrementAndGet() > 1) {
                    clusterOverlap.incrementAndGet();
                }
            }
        }
        try {
            gate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void exit(long offset, int len, boolean write) {
        if (write) {
            for (long c = offset / cluster; c <= (offset + len - 1) / cluster; c++) {
                perCluster.get(c).decrementAndGet();
            }
        }
        active.decrementAndGet();
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        int len = dst.remaining();
        enter(offset, len, false);
        synchronized (data) {
            dst.put(data, (int) offset, len);
        }
        exit(offset, len, false);
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        int len = src.remaining();
        enter(offset, len, true);
        if (writeDelayMillis > 0) {
            try {
                Thread.sleep(writeDelayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (data) {
            src.get(data, (int) offset, len);
        }
        exit(offset, len, true);
    }

    @Override
    public void flush() {
    }

    @Override
    public int serialisationAlignment() {
        return cluster;
    }

    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        return BlockStatus.unallocated(offset, bytes);
    }

    @Override
    public void close() {
    }
}
