package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Buffers;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The write side of a qcow2 layer, working on its {@link Qcow2Metadata}: in-place writes to clusters it owns (COPIED), allocation
 * with copy-on-write of partial clusters from whatever the layer shows there (backing chain,
 * zeros, compressed or shared data), zero clusters, discard and growth.
 *
 * <p>Order of every allocating write: refcount raised (in the refcount cache) under the lock;
 * guest data plus COW written outside the lock; L2 entry set under the lock, with the L2 cache
 * depending on the refcount cache and on a flush, so on disk the reference can never precede
 * the refcount or the data; old clusters freed last, with the refcount cache depending on the
 * L2 cache. Thread safety: any thread; metadata changes under the metadata lock, the generic
 * path serialises writes per cluster.
 */
final class Qcow2Writer {

    private final Qcow2Metadata meta;
    /** What the layer reads now: the source of copy-on-write, and the way to the backing file. */
    private final Qcow2Reader reader;
    private final ClusterMap map;
    private final Refcounts refcounts;
    private final int clusterBits;
    private final int clusterSize;
    /** Non-null for images with extended L2 entries. */
    private final SubclusterWriter sub;

    Qcow2Writer(Qcow2Metadata meta, Qcow2Reader reader) {
        this.meta = meta;
        this.reader = reader;
        this.map = meta.map;
        this.refcounts = meta.refcounts;
        this.clusterBits = meta.clusterBits;
        this.clusterSize = meta.clusterSize;
        this.sub = meta.header.extendedL2() ? new SubclusterWriter(meta, reader) : null;
    }

    void write(long offset, ByteBuffer src) {
        long pos = offset;
        while (src.hasRemaining()) {
            int len = src.remaining();
            if (sub != null) {
                int n = (int) Math.min(len, ((pos >>> clusterBits) + 1 << clusterBits) - pos);
                sub.write(pos, src.slice(src.position(), n));
                src.position(src.position() + n);
                pos += n;
                continue;
            }
            Extent e;
            long hostStart = -1;
            long firstCluster = pos >>> clusterBits;
            int clusters = 0;
            meta.lock.lock();
            try {
                meta.prepareWrite();
                e = map.lookup(pos, len);
                if (!(e.kind() == Extent.Kind.DATA && e.copied())) {
                    // allocate a run of clusters of the same kind inside one L2 table
                    long l2End = ((firstCluster / map.l2Entries()) + 1) * map.l2Entries();
                    long lastCluster = (e.end() - 1) >>> clusterBits;
                    if (e.kind() != Extent.Kind.UNALLOCATED && e.kind() != Extent.Kind.ZERO) {
                        lastCluster = firstCluster;
                    }
                    lastCluster = Math.min(lastCluster, l2End - 1);
                    clusters = (int) Math.min(lastCluster - firstCluster + 1, 1024);
                    // the L2 table first, as QEMU does: a fresh image gets L2 at cluster 4, data after it
                    map.ensureTable(firstCluster);
                    hostStart = refcounts.allocate(clusters);
                }
            } finally {
                meta.lock.unlock();
            }
            if (hostStart < 0) {
                int n = (int) e.length();
                meta.host.write(e.host(), src.slice(src.position(), n));
                src.position(src.position() + n);
                pos += n;
                continue;
            }
            long runStart = firstCluster << clusterBits;
            long runEnd = (firstCluster + clusters) << clusterBits;
            int n = (int) Math.min(len, runEnd - pos);
            ByteBuffer data = src.slice(src.position(), n);
            try {
                if (pos == runStart && pos + n == runEnd) {
                    meta.host.write(hostStart, data);
                } else {
                    // a pooled direct buffer: no allocation per partial write, and no hidden
                    // copy through a native buffer when it is written
                    try (Buffers.Lease lease = Buffers.lease((int) (runEnd - runStart))) {
                        ByteBuffer buf = lease.buffer();
                        reader.copyOnWrite(runStart, buf.slice(0, (int) (pos - runStart)));
                        buf.put((int) (pos - runStart), data, 0, n);
                        int tail = (int) (pos + n - runStart);
                        reader.copyOnWrite(pos + n, buf.slice(tail, buf.capacity() - tail));
                        meta.host.write(hostStart, buf);
                    }
                }
            } catch (RuntimeException ex) {
                meta.abortAllocation(hostStart, clusters, ex);
                throw ex;
            }
            link(firstCluster, clusters, hostStart);
            src.position(src.position() + n);
            pos += n;
        }
    }

    /** Points {@code clusters} guest clusters at freshly written host clusters and frees what they replaced. */
    private void link(long firstCluster, int clusters, long hostStart) {
        meta.lock.lock();
        try {
            List<long[]> toFree = new ArrayList<>();
            for (int i = 0; i < clusters; i++) {
                long c = firstCluster + i;
                long old = map.entry(c);
                map.setEntry(c, (hostStart + ((long) i << clusterBits)) | OFLAG_COPIED);
                meta.collectFree(old, toFree);
            }
            meta.free(toFree);
        } finally {
            meta.lock.unlock();
        }
    }

    void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        if (meta.header.version < 3) {
            // v2 has no zero flag: without a backing file a free cluster reads zeros, with one
            // the zeros must be written (QEMU does the same)
            if (reader.backing() == null) {
                deallocateV2(offset, bytes, true);
            } else {
                zeroBytes(offset, bytes);
            }
            return;
        }
        if (sub != null) {
            zeroSubclusters(offset, bytes, mayUnmap, false);
            return;
        }
        long end = offset + bytes;
        long firstWhole = ceil(offset);
        long lastWhole = Math.floorDiv(end, clusterSize) * (long) clusterSize;
        if (end == meta.size()) {
            lastWhole = ceil(end); // the partial last cluster of the disk counts as whole
        }
        if (firstWhole >= lastWhole) {
            zeroBytes(offset, bytes);
            return;
        }
        if (offset < firstWhole) {
            zeroBytes(offset, firstWhole - offset);
        }
        meta.lock.lock();
        try {
            meta.prepareWrite();
            boolean backing = reader.backing() != null;
            List<long[]> toFree = new ArrayList<>();
            for (long c = firstWhole >>> clusterBits; c < lastWhole >>> clusterBits; c++) {
                long old = map.entry(c);
                boolean hasHost = (old & OFLAG_COMPRESSED) == 0 && (old & OFFSET_MASK) != 0;
                if (old == 0 && !backing && !map.hasTable(c)) {
                    continue; // reads zeros already and no table to touch
                }
                if (!mayUnmap && hasHost && (old & OFLAG_COPIED) != 0) {
                    map.setEntry(c, (old & OFFSET_MASK) | OFLAG_COPIED | OFLAG_ZERO);
                    continue;
                }
                if (old == OFLAG_ZERO) {
                    continue;
                }
                map.setEntry(c, OFLAG_ZERO);
                meta.collectFree(old, toFree);
            }
            meta.free(toFree);
        } finally {
            meta.lock.unlock();
        }
        if (lastWhole < end) {
            zeroBytes(lastWhole, end - lastWhole);
        }
    }

    private void zeroBytes(long offset, long bytes) {
        Buffers.writeZeroBuffers(this::write, offset, bytes);
    }

    void discard(long offset, long bytes) {
        if (meta.header.version < 3) {
            if (reader.backing() == null) {
                deallocateV2(offset, bytes, false); // with a backing file v2 cannot discard: ignored, as in QEMU
            }
            return;
        }
        if (sub != null) {
            long end = offset + bytes;
            long first = ceil(offset);
            long last = end == meta.size() ? ceil(end) : Math.floorDiv(end, clusterSize) * (long) clusterSize;
            if (first < last) {
                zeroSubclusters(first, last - first, true, true);
            }
            return;
        }
        long end = offset + bytes;
        long first = ceil(offset);
        long last = end == meta.size() ? ceil(end) : Math.floorDiv(end, clusterSize) * (long) clusterSize;
        if (first >= last) {
            return; // partial clusters are not discarded, as in QEMU
        }
        meta.lock.lock();
        try {
            meta.prepareWrite();
            BlockNode backing = reader.backing();
            List<long[]> toFree = new ArrayList<>();
            for (long c = first >>> clusterBits; c < last >>> clusterBits; c++) {
                long old = map.entry(c);
                if (old == 0 && backing == null) {
                    continue;
                }
                if (old != OFLAG_ZERO) {
                    map.setEntry(c, OFLAG_ZERO);
                    meta.collectFree(old, toFree);
                }
            }
            meta.free(toFree);
        } finally {
            meta.lock.unlock();
        }
    }

    /** Grows the virtual size (lock held): L1 first, then zero clusters over a longer backing file, then the header. */
    void grow(long newSize) {
        long old = meta.size();
        if (newSize < old) {
            throw BlockException.unsupported("Shrinking qcow2 images is not supported by Strata");
        }
        if (newSize % 512 != 0) {
            throw BlockException.invalid("The new size must be a multiple of 512");
        }
        if (newSize == old) {
            return;
        }
        map.growFor(newSize);
        meta.setSize(newSize);
        BlockNode backing = reader.backing();
        if (backing != null && backing.size() > old) {
            // the newly exposed range must not show the backing file's older data
            writeZeroes(old, Math.min(newSize, backing.size()) - old, false);
        }
        meta.flushCaches();
        meta.host.write(OFF_SIZE, ByteBuffer.allocate(8).putLong(0, newSize));
        meta.host.flush();
    }

    /** Zero writes and discards on extended L2 images: zero bits for whole subclusters, zero bytes for the rest. */
    private void zeroSubclusters(long offset, long bytes, boolean mayUnmap, boolean discard) {
        int scBits = sub.subclusterBits();
        long sc = 1L << scBits;
        long end = offset + bytes;
        long firstWhole = Math.floorDiv(offset + sc - 1, sc) * sc;
        long lastWhole = end == meta.size() ? Math.floorDiv(end + sc - 1, sc) * sc : Math.floorDiv(end, sc) * sc;
        if (firstWhole >= lastWhole) {
            zeroBytes(offset, bytes);
            return;
        }
        if (offset < firstWhole) {
            zeroBytes(offset, firstWhole - offset);
        }
        List<long[]> bytesToWrite = new ArrayList<>();
        meta.lock.lock();
        try {
            meta.prepareWrite();
            List<long[]> toFree = new ArrayList<>();
            for (long pos = firstWhole; pos < lastWhole; ) {
                long c = pos >>> clusterBits;
                long cStart = c << clusterBits;
                long stop = Math.min(lastWhole, cStart + clusterSize);
                int a = (int) ((pos - cStart) >>> scBits);
                int b = (int) ((stop - cStart + sc - 1) >>> scBits);
                if (sub.needsBytes(c, a == 0 && b == 32)) {
                    bytesToWrite.add(new long[] {pos, Math.min(stop, meta.size()) - pos});
                } else if (!(discard && reader.backing() == null && map.entry(c) == 0 && map.bitmap(c) == 0)) {
                    sub.zero(c, a, b, mayUnmap, discard, toFree);
                }
                pos = stop;
            }
            meta.free(toFree);
        } finally {
            meta.lock.unlock();
        }
        for (long[] r : bytesToWrite) {
            zeroBytes(r[0], r[1]);
        }
        if (lastWhole < end) {
            zeroBytes(lastWhole, end - lastWhole);
        }
    }

    /** v2 without a backing file: whole clusters become unallocated (read as zeros); partial ones get zero bytes when asked to. */
    private void deallocateV2(long offset, long bytes, boolean zeroPartial) {
        long end = offset + bytes;
        long first = ceil(offset);
        long last = end == meta.size() ? ceil(end) : Math.floorDiv(end, clusterSize) * (long) clusterSize;
        if (first >= last) {
            if (zeroPartial) {
                zeroBytes(offset, bytes);
            }
            return;
        }
        if (zeroPartial && offset < first) {
            zeroBytes(offset, first - offset);
        }
        meta.lock.lock();
        try {
            meta.prepareWrite();
            List<long[]> toFree = new ArrayList<>();
            for (long c = first >>> clusterBits; c < last >>> clusterBits; c++) {
                long old = map.entry(c);
                if (old != 0) {
                    map.setEntry(c, 0);
                    meta.collectFree(old, toFree);
                }
            }
            meta.free(toFree);
        } finally {
            meta.lock.unlock();
        }
        if (zeroPartial && last < end) {
            zeroBytes(last, end - last);
        }
    }

    private long ceil(long v) {
        return Math.floorDiv(v + clusterSize - 1, clusterSize) * (long) clusterSize;
    }
}
