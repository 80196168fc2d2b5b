package dev.strata.jobs.testing;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.SupportsBackingChange;
import dev.strata.blockdrv.SupportsReopen;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A tiny copy-on-write overlay format for tests of jobs that need backing chains before (or
 * besides) qcow2: data sits in the file child at its guest offset, the per-cluster allocation
 * map and the backing name live in {@link TestCowStore}. Cluster = 64 KiB. Writes to a cluster
 * are serialised by the generic path (serialisation alignment = cluster), so a partial write
 * can fill the rest of the cluster from the backing chain without racing another write.
 */
final class TestCowDriver implements BlockDriver, SupportsBackingChange, SupportsReopen, SupportsWriteZeroes {

    static final int CLUSTER = 64 << 10;

    private final BlockNode node;
    private final TestCowStore.Image image;
    private final ReentrantLock lock;

    TestCowDriver(BlockNode node, TestCowStore.Image image) {
        this.node = node;
        this.image = image;
        this.lock = image.lock;
    }

    @Override
    public String formatName() {
        return "test-cow";
    }

    @Override
    public long size() {
        return image.size;
    }

    @Override
    public int serialisationAlignment() {
        return CLUSTER;
    }

    private boolean allocated(long cluster) {
        lock.lock();
        try {
            return image.allocated.get((int) cluster);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        long pos = offset;
        long end = offset + dst.remaining();
        while (pos < end) {
            long c = pos / CLUSTER;
            long runEnd = Math.min(end, (c + 1) * CLUSTER);
            ByteBuffer part = dst.duplicate();
            part.limit(part.position() + (int) (runEnd - pos));
            if (allocated(c)) {
                node.file().readPadded(pos, part);
            } else if (node.backing() != null) {
                node.backing().readPadded(pos, part);
            } else {
                while (part.hasRemaining()) {
                    part.put((byte) 0);
                }
            }
            dst.position(dst.position() + (int) (runEnd - pos));
            pos = runEnd;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        long pos = offset;
        long end = offset + src.remaining();
        while (pos < end) {
            long c = pos / CLUSTER;
            long cStart = c * CLUSTER;
            long cEnd = Math.min(image.size, cStart + CLUSTER);
            long runEnd = Math.min(end, cEnd);
            ByteBuffer part = src.duplicate();
            part.limit(part.position() + (int) (runEnd - pos));
            if (!allocated(c) && (pos != cStart || runEnd != cEnd)) {
                // copy-on-write: fill the untouched part of the cluster from below first
                ByteBuffer whole = ByteBuffer.allocate((int) (cEnd - cStart));
                read(cStart, whole);
                whole.clear().position((int) (pos - cStart));
                whole.put(part);
                whole.clear();
                node.file().write(cStart, whole);
            } else {
                node.file().write(pos, part);
            }
            lock.lock();
            try {
                image.allocated.set((int) c);
            } finally {
                lock.unlock();
            }
            src.position(src.position() + (int) (runEnd - pos));
            pos = runEnd;
        }
    }

    @Override
    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        write(offset, ByteBuffer.allocate((int) bytes));
    }

    @Override
    public void flush() {
        node.file().flush();
    }

    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        long c = offset / CLUSTER;
        boolean a = allocated(c);
        long end = Math.min(offset + bytes, image.size);
        long pos = Math.min(end, (c + 1) * CLUSTER);
        while (pos < end && allocated(pos / CLUSTER) == a) {
            pos = Math.min(end, pos + CLUSTER);
        }
        return a ? BlockStatus.data(offset, pos - offset, offset) : BlockStatus.unallocated(offset, pos - offset);
    }

    @Override
    public String backingFileName() {
        return image.backingName;
    }

    @Override
    public String backingFormat() {
        return image.backingFormat;
    }

    @Override
    public void changeBackingFile(String backingName, String backingFormat) {
        image.backingName = backingName;
        image.backingFormat = backingFormat;
    }

    @Override
    public void reopen(boolean readOnly) {
    }

    @Override
    public void close() {
    }

    /** Allocated clusters (tests). */
    BitSet allocatedClusters() {
        lock.lock();
        try {
            return (BitSet) image.allocated.clone();
        } finally {
            lock.unlock();
        }
    }
}
