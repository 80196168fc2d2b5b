package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.Buffers;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes to images with extended L2 entries (incompatible bit 4): each cluster has 32
 * subclusters whose state (allocated, zero, unallocated) is kept in a bitmap beside the L2
 * entry. Only the touched subclusters are written and marked allocated; untouched ones keep
 * their state, so they still fall through to the backing file (QEMU's behaviour). A cluster that
 * must move (compressed or shared) is copied whole. Zero writes and discards use the zero bits.
 *
 * <p>Called by {@code Qcow2Writer} one cluster at a time; the generic path serialises writes per
 * cluster, metadata is changed under the metadata lock, data is written outside it.
 */
final class SubclusterWriter {

    private static final long ALL = 0xFFFFFFFFL;

    private final Qcow2Metadata meta;
    private final Qcow2Reader reader;
    private final ClusterMap map;
    private final int clusterBits;
    private final int clusterSize;
    private final int scBits;

    SubclusterWriter(Qcow2Metadata meta, Qcow2Reader reader) {
        this.meta = meta;
        this.reader = reader;
        this.map = meta.map;
        this.clusterBits = meta.clusterBits;
        this.clusterSize = meta.clusterSize;
        this.scBits = clusterBits - 5;
    }

    /** Writes {@code src} (which must not cross a cluster boundary) at guest {@code pos}. */
    void write(long pos, ByteBuffer src) {
        int len = src.remaining();
        long c = pos >>> clusterBits;
        long cStart = c << clusterBits;
        int first = (int) ((pos - cStart) >>> scBits);
        int last = (int) ((pos + len - 1 - cStart) >>> scBits);
        long touched = mask(first, last + 1);
        long entry;
        long bitmap;
        long host;
        boolean fresh;
        boolean whole;
        meta.lock.lock();
        try {
            meta.prepareWrite();
            entry = map.entry(c);
            bitmap = map.bitmap(c);
            long old = entry & OFFSET_MASK;
            boolean compressed = (entry & OFLAG_COMPRESSED) != 0;
            fresh = compressed || old == 0 || (entry & OFLAG_COPIED) == 0 || !map.tableCopied(c);
            // a compressed or shared cluster moves whole; a fresh one only gets the touched subclusters
            whole = fresh && (compressed || old != 0);
            if (fresh) {
                map.ensureTable(c);
                host = meta.refcounts.allocate(1);
            } else {
                host = old;
            }
        } finally {
            meta.lock.unlock();
        }
        long spanStart = whole ? cStart : cStart + ((long) first << scBits);
        long spanEnd = whole ? cStart + clusterSize : cStart + ((long) (last + 1) << scBits);
        // a pooled direct buffer, as for whole clusters in Qcow2Writer: no garbage per write
        try (Buffers.Lease lease = Buffers.lease((int) (spanEnd - spanStart))) {
            ByteBuffer buf = lease.buffer();
            reader.copyOnWrite(spanStart, buf.slice(0, (int) (pos - spanStart)));
            buf.put((int) (pos - spanStart), src, src.position(), len);
            int tail = (int) (pos + len - spanStart);
            reader.copyOnWrite(pos + len, buf.slice(tail, buf.capacity() - tail));
            meta.host.write(host + (spanStart - cStart), buf);
        } catch (RuntimeException ex) {
            // a fresh host cluster is referenced by nothing yet: give it back, as Qcow2Writer does
            // for whole clusters (an in-place cluster keeps its old bitmap, so nothing changed)
            if (fresh) {
                meta.abortAllocation(host, 1, ex);
            }
            throw ex;
        }
        src.position(src.position() + len);
        meta.lock.lock();
        try {
            long alloc = whole ? ALL : (bitmap & ALL) | touched;
            long zero = whole ? 0 : (bitmap >>> 32) & ~touched;
            map.setEntry(c, host | OFLAG_COPIED, alloc | (zero << 32));
            if (fresh && (entry & (OFFSET_MASK | OFLAG_COMPRESSED)) != 0) {
                List<long[]> toFree = new ArrayList<>();
                meta.collectFree(entry, toFree);
                meta.free(toFree);
            }
        } finally {
            meta.lock.unlock();
        }
    }

    /**
     * Marks whole subclusters {@code [first, end)} of cluster {@code c} as zero (lock held). A
     * whole cluster with {@code mayUnmap} (or without a reusable host cluster) loses its host
     * cluster: offset 0 and all zero bits, as QEMU writes it.
     */
    void zero(long c, int first, int end, boolean mayUnmap, boolean discard, List<long[]> toFree) {
        long entry = map.entry(c);
        long bitmap = map.bitmap(c);
        long m = mask(first, end);
        boolean wholeCluster = m == ALL;
        boolean compressed = (entry & OFLAG_COMPRESSED) != 0;
        boolean ownHost = !compressed && (entry & OFFSET_MASK) != 0 && (entry & OFLAG_COPIED) != 0;
        if (wholeCluster && (mayUnmap || discard || !ownHost)) {
            if (entry == 0 && bitmap == (ALL << 32)) {
                return;
            }
            map.setEntry(c, 0, ALL << 32);
            if ((entry & (OFFSET_MASK | OFLAG_COMPRESSED)) != 0) {
                meta.collectFree(entry, toFree);
            }
            return;
        }
        if (compressed) {
            return; // partial zeroing of a compressed cluster: the caller writes zero bytes instead
        }
        long alloc = (bitmap & ALL) & ~m;
        long zero = ((bitmap >>> 32) | m) & ALL;
        map.setEntry(c, entry, alloc | (zero << 32));
    }

    /** True when subclusters of a compressed cluster would have to be zeroed piecemeal. */
    boolean needsBytes(long c, boolean wholeCluster) {
        return !wholeCluster && (map.entry(c) & OFLAG_COMPRESSED) != 0;
    }

    int subclusterBits() {
        return scBits;
    }

    private static long mask(int from, int to) {
        return to - from >= 32 ? ALL : ((1L << (to - from)) - 1) << from;
    }
}
