package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import java.nio.ByteBuffer;

/**
 * The refcount structures of an open image: the refcount table (held in memory, at most 8 MiB
 * by the spec's cap) and the refcount blocks (through a bounded {@link MetadataCache}), plus
 * first-fit cluster allocation as QEMU does it, including adding refcount blocks and growing
 * the table without recursion into unbounded work.
 *
 * <p>Not thread safe: every method is called with the driver's metadata lock held.
 */
final class Refcounts {

    private final Qcow2Header header;
    private final HostFile host;
    final MetadataCache cache;
    private final int clusterBits;
    private final int clusterSize;
    private final int refcountBits;
    private final int rbShift;
    private final long rbMask;
    private final long maxRefcount;
    private long[] table;
    /** No cluster below this index is free (QEMU's free_cluster_index). */
    private long freeClusterIndex;
    /** One past the highest cluster ever handed out: allocated clusters may not be written (and so past EOF) yet. */
    private long allocatedEnd;

    Refcounts(Qcow2Header header, HostFile host, int cacheClusters) {
        this.header = header;
        this.host = host;
        this.clusterBits = header.clusterBits;
        this.clusterSize = header.clusterSize();
        this.refcountBits = header.refcountBits();
        this.rbShift = clusterBits + 3 - header.refcountOrder;
        this.rbMask = (1L << rbShift) - 1;
        this.maxRefcount = refcountBits == 64 ? Long.MAX_VALUE : (1L << refcountBits) - 1;
        this.cache = new MetadataCache("refcount block", host, clusterSize, cacheClusters);
        loadTable();
    }

    private void loadTable() {
        int entries = (int) ((long) header.refcountTableClusters * clusterSize / 8);
        ByteBuffer b = ByteBuffer.allocate(entries * 8);
        host.read(header.refcountTableOffset, b);
        b.flip();
        table = new long[entries];
        b.asLongBuffer().get(table);
    }

    long[] table() {
        return table;
    }

    /** Clusters described by one refcount block. */
    long blockEntries() {
        return 1L << rbShift;
    }

    long maxRefcount() {
        return maxRefcount;
    }

    /** The refcount of host cluster {@code cluster}; 0 beyond the table or for a missing block. */
    long get(long cluster) {
        long idx = cluster >>> rbShift;
        if (idx >= table.length) {
            return 0;
        }
        long block = table[(int) idx] & REFT_OFFSET_MASK;
        if (block == 0) {
            return 0;
        }
        checkBlockOffset(block, idx);
        return read(cache.get(block).buf, (int) (cluster & rbMask));
    }

    private void checkBlockOffset(long block, long idx) {
        if ((block & (clusterSize - 1)) != 0) {
            throw BlockException.corrupt("Image is corrupt: Refblock offset 0x" + Long.toHexString(block)
                    + " unaligned (reftable index: 0x" + Long.toHexString(idx) + ")");
        }
    }

    /** Adds {@code delta} to the refcount of one cluster, creating its refcount block if needed. */
    void update(long cluster, long delta) {
        long idx = cluster >>> rbShift;
        long block = ensureBlock(idx);
        MetadataCache.Table t = cache.get(block);
        int i = (int) (cluster & rbMask);
        long v = read(t.buf, i) + delta;
        if (v < 0 || v > maxRefcount) {
            throw BlockException.corrupt("Image is corrupt: refcount of cluster " + cluster + " would become " + v);
        }
        write(t.buf, i, v);
        cache.markDirty(t);
        if (v == 0 && cluster < freeClusterIndex) {
            freeClusterIndex = cluster;
        }
    }

    /** Sets the refcount of one cluster (repair); creates its refcount block if needed. */
    void set(long cluster, long value) {
        long block = ensureBlock(cluster >>> rbShift);
        MetadataCache.Table t = cache.get(block);
        write(t.buf, (int) (cluster & rbMask), value);
        cache.markDirty(t);
        // the free index is not lowered: during a repair, lower stored counts are not trusted yet
    }

    /** Makes allocation start at or above {@code cluster} (repair: stored refcounts below it are not trusted). */
    void allocateFrom(long cluster) {
        freeClusterIndex = Math.max(freeClusterIndex, cluster);
        allocatedEnd = Math.max(allocatedEnd, cluster);
    }

    /** Allocates {@code n} contiguous free clusters (first fit), sets their refcount to 1, returns the host offset. */
    long allocate(int n) {
        long first = findFree(n);
        checkOverlap(first, n);
        for (int i = 0; i < n; i++) {
            update(first + i, 1);
        }
        return first << clusterBits;
    }

    /**
     * QEMU's metadata overlap check (the always-cheap part): a "free" cluster that is the header,
     * the refcount table or the active L1 table means the refcounts are wrong; writing there
     * would destroy the image, so the image is marked corrupt and the write refused.
     */
    private void checkOverlap(long first, int n) {
        long start = first << clusterBits;
        long end = (first + n) << clusterBits;
        String what = null;
        if (start < clusterSize) {
            what = "qcow2_header";
        } else if (overlaps(start, end, header.refcountTableOffset, (long) header.refcountTableClusters * clusterSize)) {
            what = "refcount table";
        } else if (overlaps(start, end, header.l1TableOffset, header.l1Size * 8L)) {
            what = "active L1 table";
        }
        if (what != null) {
            freeClusterIndex = first + n; // do not offer the same clusters again
            markCorrupt("Preventing invalid allocation of " + what + " clusters (the refcounts say they are free)");
        }
    }

    private static boolean overlaps(long start, long end, long off, long len) {
        return len > 0 && start < off + len && off < end;
    }

    /** Sets the corrupt bit on disk (8 bytes at offset 72 + fsync) and fails the request, as QEMU does. */
    void markCorrupt(String why) {
        if (header.version >= 3 && (header.incompatible & INCOMPAT_CORRUPT) == 0) {
            header.incompatible |= INCOMPAT_CORRUPT;
            host.write(OFF_INCOMPATIBLE, ByteBuffer.allocate(8).putLong(0, header.incompatible));
            host.flush();
        }
        throw BlockException.corrupt("Marking image as corrupt: " + why + "; further corruption events will be suppressed");
    }

    /** Decrements the refcount of every cluster touched by {@code [offset, offset+bytes)}. */
    void free(long offset, long bytes) {
        long first = offset >>> clusterBits;
        long last = (offset + bytes - 1) >>> clusterBits;
        for (long c = first; c <= last; c++) {
            update(c, -1);
        }
    }

    /** First run of {@code n} free clusters at or above the free index; advances the index past it. */
    private long findFree(int n) {
        long start = freeClusterIndex;
        long run = 0;
        long c = start;
        while (run < n) {
            if (get(c) == 0) {
                run++;
            } else {
                run = 0;
                start = c + 1;
            }
            c++;
        }
        freeClusterIndex = start + n;
        allocatedEnd = Math.max(allocatedEnd, start + n);
        return start;
    }

    /** The offset of the refcount block for table index {@code idx}, creating block (and table room) if missing. */
    private long ensureBlock(long idx) {
        if (idx < table.length && (table[(int) idx] & REFT_OFFSET_MASK) != 0) {
            long b = table[(int) idx] & REFT_OFFSET_MASK;
            checkBlockOffset(b, idx);
            return b;
        }
        if (idx >= table.length) {
            growTable(idx);
            if ((table[(int) idx] & REFT_OFFSET_MASK) != 0) {
                return table[(int) idx] & REFT_OFFSET_MASK;
            }
        }
        long blockCluster = findFree(1);
        MetadataCache.Table t;
        if ((blockCluster >>> rbShift) == idx) {
            // the block describes itself: its own refcount lives inside it
            t = cache.create(blockCluster << clusterBits);
            write(t.buf, (int) (blockCluster & rbMask), 1);
        } else {
            update(blockCluster, 1);
            t = cache.create(blockCluster << clusterBits);
        }
        // the block must be on disk before the table points at it
        cache.flush();
        table[(int) idx] = blockCluster << clusterBits;
        ByteBuffer e = ByteBuffer.allocate(8).putLong(0, table[(int) idx]);
        host.write(header.refcountTableOffset + idx * 8, e);
        host.flush();
        return t.offset;
    }

    /**
     * Builds a bigger refcount table plus the refcount blocks describing it in a fresh area past
     * everything the old table can describe, switches the header to it, then frees the old table.
     * A crash at any point leaves either the old or the new table in force (at worst leaks).
     */
    private void growTable(long neededIdx) {
        long rbEntries = blockEntries();
        long endCluster = Math.max(allocatedEnd, (host.length() + clusterSize - 1) >>> clusterBits);
        long areaIdx = Math.max(table.length, (endCluster + rbEntries - 1) >>> rbShift);
        long areaStart = areaIdx << rbShift;
        long blocks = 1;
        long entries;
        long tableClusters;
        while (true) {
            entries = Math.max(neededIdx + 1, areaIdx + blocks) * 3 / 2;
            tableClusters = (entries * 8 + clusterSize - 1) / clusterSize;
            long needBlocks = (blocks + tableClusters + rbEntries - 1) / rbEntries;
            if (needBlocks <= blocks) {
                break;
            }
            blocks = needBlocks;
        }
        entries = tableClusters * clusterSize / 8;
        if (tableClusters * clusterSize > MAX_REFTABLE_BYTES) {
            throw new BlockException(BlockException.Kind.NO_SPACE, "Refcount table would exceed its maximum size of 8 MiB");
        }
        cache.flush();
        long[] newTable = new long[(int) entries];
        System.arraycopy(table, 0, newTable, 0, table.length);
        long used = blocks + tableClusters;
        for (long b = 0; b < blocks; b++) {
            ByteBuffer block = ByteBuffer.allocate(clusterSize);
            for (long c = b * rbEntries; c < Math.min(used, (b + 1) * rbEntries); c++) {
                write(block, (int) (c - b * rbEntries), 1);
            }
            long off = (areaStart + b) << clusterBits;
            host.write(off, block.clear());
            newTable[(int) (areaIdx + b)] = off;
        }
        long tableOffset = (areaStart + blocks) << clusterBits;
        ByteBuffer tb = ByteBuffer.allocate((int) (tableClusters * clusterSize));
        tb.asLongBuffer().put(newTable);
        host.write(tableOffset, tb);
        host.flush();
        ByteBuffer h = ByteBuffer.allocate(12).putLong(0, tableOffset).putInt(8, (int) tableClusters);
        host.write(OFF_REFCOUNT_TABLE_OFFSET, h);
        host.flush();
        long oldOffset = header.refcountTableOffset;
        long oldClusters = header.refcountTableClusters;
        header.refcountTableOffset = tableOffset;
        header.refcountTableClusters = (int) tableClusters;
        table = newTable;
        free(oldOffset, oldClusters * clusterSize);
    }

    private long read(ByteBuffer b, int i) {
        switch (refcountBits) {
            case 8:
                return b.get(i) & 0xFFL;
            case 16:
                return b.getShort(i * 2) & 0xFFFFL;
            case 32:
                return b.getInt(i * 4) & 0xFFFFFFFFL;
            case 64:
                return b.getLong(i * 8);
            default:
                int bit = i * refcountBits;
                return ((b.get(bit >>> 3) & 0xFF) >>> (bit & 7)) & ((1 << refcountBits) - 1);
        }
    }

    private void write(ByteBuffer b, int i, long v) {
        switch (refcountBits) {
            case 8 -> b.put(i, (byte) v);
            case 16 -> b.putShort(i * 2, (short) v);
            case 32 -> b.putInt(i * 4, (int) v);
            case 64 -> b.putLong(i * 8, v);
            default -> {
                int bit = i * refcountBits;
                int mask = ((1 << refcountBits) - 1) << (bit & 7);
                int old = b.get(bit >>> 3) & 0xFF;
                b.put(bit >>> 3, (byte) ((old & ~mask) | (((int) v << (bit & 7)) & mask)));
            }
        }
    }

    /** Reads a refcount from a raw block buffer; for the checker, which works on its own copies. */
    long readEntry(ByteBuffer block, int i) {
        return read(block, i);
    }

    void writeEntry(ByteBuffer block, int i, long v) {
        write(block, i, v);
    }

    /** Sets refcount 1 for clusters {@code 0..used-1} in consecutive blocks laid out in {@code blocks} (image creation). */
    static void fill(ByteBuffer blocks, int refcountBits, long used) {
        for (long c = 0; c < used; c++) {
            long bit = c * refcountBits;
            if (refcountBits >= 8) {
                int bytes = refcountBits / 8;
                blocks.put((int) (bit / 8) + bytes - 1, (byte) 1);
            } else {
                int idx = (int) (bit >>> 3);
                blocks.put(idx, (byte) (blocks.get(idx) | (1 << (bit & 7))));
            }
        }
    }
}
