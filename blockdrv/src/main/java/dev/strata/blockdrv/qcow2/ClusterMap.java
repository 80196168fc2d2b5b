package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import java.nio.ByteBuffer;

/**
 * Guest-to-host translation: the active L1 table (in memory; only the entries the virtual size
 * can reach) and the L2 tables (through a bounded {@link MetadataCache}). Classifies entries
 * exactly as QEMU's {@code qcow2_get_cluster_type} / {@code qcow2_get_subcluster_type}, and
 * changes them for the write path with the crash-safe ordering of the spec notes.
 *
 * <p>Not thread safe: every method is called with the driver's metadata lock held.
 */
final class ClusterMap {

    private final Qcow2Header header;
    private final HostFile host;
    private final Refcounts refcounts;
    final MetadataCache l2;
    private final int clusterBits;
    private final int clusterSize;
    private final int l2Entries;
    private final int entryBytes;
    private final boolean extended;
    private final int subclusterBits;
    private volatile long[] l1;
    /**
     * Sequence counter for optimistic lock-free lookups: odd while a writer (holding the metadata
     * lock) changes L1 or L2 contents; readers retry under the lock if it moved.
     */
    private volatile long seq;

    ClusterMap(Qcow2Header header, HostFile host, Refcounts refcounts, int cacheClusters) {
        this.header = header;
        this.host = host;
        this.refcounts = refcounts;
        this.clusterBits = header.clusterBits;
        this.clusterSize = header.clusterSize();
        this.l2Entries = header.l2Entries();
        this.entryBytes = header.l2EntryBytes();
        this.extended = header.extendedL2();
        this.subclusterBits = clusterBits - 5;
        this.l2 = new MetadataCache("L2 table", host, clusterSize, cacheClusters);
        int used = (int) Math.min(header.l1Size, Qcow2Header.requiredL1Size(header.size, clusterBits, l2Entries));
        ByteBuffer b = ByteBuffer.allocate(used * 8);
        if (used > 0) {
            host.read(header.l1TableOffset, b);
        }
        b.flip();
        l1 = new long[used];
        b.asLongBuffer().get(l1);
    }

    int l2Entries() {
        return l2Entries;
    }

    long[] l1() {
        return l1;
    }

    /** The mapping of the longest prefix of {@code [off, off+max)} whose (sub)clusters share one kind. */
    Extent lookup(long off, long max) {
        return lookup(off, max, false);
    }

    /**
     * The lookup without the metadata lock, for cached L2 tables only: null when a table is not
     * cached, a writer was active, or anything looked inconsistent; the caller then takes the
     * lock. Reads of the tables race with writers by design and are validated by {@link #seq}.
     */
    Extent tryLookup(long off, long max) {
        long s1 = seq;
        if ((s1 & 1) != 0) {
            return null;
        }
        Extent e;
        try {
            e = lookup(off, max, true);
        } catch (RuntimeException ex) {
            return null;
        }
        java.lang.invoke.VarHandle.acquireFence();
        return e != null && seq == s1 ? e : null;
    }

    private void beginChange() {
        seq++;
    }

    private void endChange() {
        seq++;
    }

    private Extent lookup(long off, long max, boolean peekOnly) {
        long[] l1 = this.l1;
        long end = off + max;
        Extent.Kind kind = null;
        long first = -1;
        boolean copied = true;
        long pos = off;
        while (pos < end) {
            long cluster = pos >>> clusterBits;
            long l1i = cluster / l2Entries;
            long unitEnd;
            Extent.Kind k;
            long unitHost = -1;
            boolean unitCopied = false;
            long l2off = l1i < l1.length ? l1[(int) l1i] & OFFSET_MASK : 0;
            if (l2off == 0) {
                k = Extent.Kind.UNALLOCATED;
                unitEnd = ((l1i + 1) * l2Entries) << clusterBits;
            } else {
                checkL2Offset(l2off, l1i);
                ByteBuffer t;
                if (peekOnly) {
                    MetadataCache.Table tt = l2.peek(l2off);
                    if (tt == null) {
                        return null;
                    }
                    t = tt.buf;
                } else {
                    t = l2.get(l2off).buf;
                }
                int l2i = (int) (cluster % l2Entries);
                long e = t.getLong(l2i * entryBytes);
                long clusterStart = cluster << clusterBits;
                unitEnd = clusterStart + clusterSize;
                if ((e & OFLAG_COMPRESSED) != 0) {
                    if (kind != null) {
                        break;
                    }
                    return new Extent(Extent.Kind.COMPRESSED, off, Math.min(end, unitEnd) - off, e & ~OFLAG_COPIED, false);
                }
                long hostCluster = e & OFFSET_MASK;
                if (!extended) {
                    if ((e & OFLAG_ZERO) != 0) {
                        if (header.version < 3) {
                            throw BlockException.corrupt("Image is corrupt: Zero cluster entry found in pre-v3 image (L2 offset: 0x"
                                    + Long.toHexString(l2off) + ", L2 index: 0x" + Integer.toHexString(l2i) + ")");
                        }
                        k = Extent.Kind.ZERO;
                    } else if (hostCluster == 0) {
                        k = Extent.Kind.UNALLOCATED;
                    } else {
                        k = Extent.Kind.DATA;
                    }
                } else {
                    long bitmap = t.getLong(l2i * entryBytes + 8);
                    long alloc = bitmap & SUBCLUSTER_ALLOC_MASK;
                    long zero = bitmap >>> 32;
                    if ((alloc & zero) != 0 || (hostCluster == 0 && alloc != 0)) {
                        throw BlockException.corrupt("Image is corrupt: Invalid cluster entry found (L2 offset: 0x"
                                + Long.toHexString(l2off) + ", L2 index: 0x" + Integer.toHexString(l2i) + ")");
                    }
                    int sc = (int) ((pos >>> subclusterBits) & (SUBCLUSTERS - 1));
                    // extend over following subclusters of the same state inside this cluster
                    int state = subState(alloc, zero, sc);
                    int sc2 = sc + 1;
                    while (sc2 < SUBCLUSTERS && subState(alloc, zero, sc2) == state) {
                        sc2++;
                    }
                    unitEnd = clusterStart + ((long) sc2 << subclusterBits);
                    k = state == 1 ? Extent.Kind.DATA : state == 2 ? Extent.Kind.ZERO : Extent.Kind.UNALLOCATED;
                }
                if (k == Extent.Kind.DATA) {
                    if ((hostCluster & (clusterSize - 1)) != 0) {
                        throw BlockException.corrupt("Image is corrupt: Cluster allocation offset 0x" + Long.toHexString(hostCluster)
                                + " unaligned (L2 offset: 0x" + Long.toHexString(l2off) + ", L2 index: 0x" + Integer.toHexString(l2i) + ")");
                    }
                    unitHost = hostCluster + (pos - clusterStart);
                    unitCopied = (e & OFLAG_COPIED) != 0 && (l1[(int) l1i] & OFLAG_COPIED) != 0;
                }
            }
            if (kind == null) {
                kind = k;
                first = unitHost;
                copied = unitCopied;
            } else if (k != kind || (k == Extent.Kind.DATA && unitHost != first + (pos - off))) {
                break;
            } else {
                copied &= unitCopied;
            }
            pos = Math.min(unitEnd, end);
        }
        return new Extent(kind, off, pos - off, kind == Extent.Kind.DATA ? first : -1, kind == Extent.Kind.DATA && copied);
    }

    /** 1 allocated, 2 zero, 0 unallocated, for subcluster {@code sc}. */
    private static int subState(long alloc, long zero, int sc) {
        if ((alloc >>> sc & 1) != 0) {
            return 1;
        }
        return (zero >>> sc & 1) != 0 ? 2 : 0;
    }

    private void checkL2Offset(long l2off, long l1i) {
        if ((l2off & (clusterSize - 1)) != 0) {
            throw BlockException.corrupt("Image is corrupt: L2 table offset 0x" + Long.toHexString(l2off)
                    + " unaligned (L1 index: 0x" + Long.toHexString(l1i) + ")");
        }
    }

    // ---- the write side ----------------------------------------------------------------------

    /** The raw L2 entry of {@code cluster}, 0 when its L2 table does not exist. */
    long entry(long cluster) {
        long l1i = cluster / l2Entries;
        long l2off = l1i < l1.length ? l1[(int) l1i] & OFFSET_MASK : 0;
        if (l2off == 0) {
            return 0;
        }
        checkL2Offset(l2off, l1i);
        return l2.get(l2off).buf.getLong((int) (cluster % l2Entries) * entryBytes);
    }

    /** The subcluster bitmap of {@code cluster} (extended L2 only), 0 when its L2 table does not exist. */
    long bitmap(long cluster) {
        long l1i = cluster / l2Entries;
        long l2off = l1i < l1.length ? l1[(int) l1i] & OFFSET_MASK : 0;
        if (l2off == 0) {
            return 0;
        }
        checkL2Offset(l2off, l1i);
        return l2.get(l2off).buf.getLong((int) (cluster % l2Entries) * entryBytes + 8);
    }

    /** Sets an extended L2 entry: the first word and the subcluster bitmap, with the ordering of {@link #setEntry}. */
    void setEntry(long cluster, long entry, long bitmap) {
        MetadataCache.Table t = tableForWrite(cluster);
        int at = (int) (cluster % l2Entries) * entryBytes;
        beginChange();
        t.buf.putLong(at, entry);
        t.buf.putLong(at + 8, bitmap);
        endChange();
        l2.markDirty(t);
        l2.dependOn(refcounts.cache);
        l2.dependOnFlush();
    }

    /** True when the L2 table for {@code cluster} exists. */
    boolean hasTable(long cluster) {
        long l1i = cluster / l2Entries;
        return l1i < l1.length && (l1[(int) l1i] & OFFSET_MASK) != 0;
    }

    /**
     * Sets the L2 entry of {@code cluster} (creating or un-sharing its L2 table first). The new
     * entry reaches the disk only after the refcount blocks and earlier data (write-back order).
     */
    void setEntry(long cluster, long entry) {
        MetadataCache.Table t = tableForWrite(cluster);
        beginChange();
        t.buf.putLong((int) (cluster % l2Entries) * entryBytes, entry);
        endChange();
        l2.markDirty(t);
        l2.dependOn(refcounts.cache);
        l2.dependOnFlush();
    }

    /** True when the active L1 entry covering {@code cluster} has COPIED (its L2 table is not shared). */
    boolean tableCopied(long cluster) {
        long l1i = cluster / l2Entries;
        return l1i < l1.length && (l1[(int) l1i] & OFLAG_COPIED) != 0;
    }

    /** Makes sure the L2 table of {@code cluster} exists and is not shared (allocating it now). */
    void ensureTable(long cluster) {
        tableForWrite(cluster);
    }

    private MetadataCache.Table tableForWrite(long cluster) {
        long l1i = cluster / l2Entries;
        if (l1i >= l1.length) {
            throw BlockException.invalid("guest cluster " + cluster + " is beyond the L1 table");
        }
        long e = l1[(int) l1i];
        long old = e & OFFSET_MASK;
        if (old != 0 && (e & OFLAG_COPIED) != 0) {
            checkL2Offset(old, l1i);
            return l2.get(old);
        }
        // new table, or a private copy of a shared one; refcount durable before the table,
        // the table durable before the L1 entry, the L1 entry durable before the old one is freed
        long fresh = refcounts.allocate(1);
        MetadataCache.Table t = l2.create(fresh);
        if (old != 0) {
            checkL2Offset(old, l1i);
            t.buf.put(0, l2.get(old).buf, 0, clusterSize);
        }
        refcounts.cache.flush();
        host.write(fresh, t.buf.duplicate().clear());
        host.flush();
        t.dirty = false;
        beginChange();
        l1[(int) l1i] = fresh | OFLAG_COPIED;
        endChange();
        writeL1Entry(l1i);
        if (old != 0) {
            refcounts.free(old, clusterSize);
        }
        return l2.get(fresh);
    }

    /** Replaces an active L1 entry on disk (repair of COPIED flags). */
    void setL1Entry(long l1i, long entry) {
        if (l1i < l1.length) {
            beginChange();
            l1[(int) l1i] = entry;
            endChange();
        }
        host.write(header.l1TableOffset + l1i * 8, ByteBuffer.allocate(8).putLong(0, entry));
        host.flush();
    }

    /** Replaces entry {@code index} of the L2 table at {@code l2off} (repair of COPIED flags). */
    void setRawL2Entry(long l2off, int index, long entry) {
        MetadataCache.Table t = l2.get(l2off);
        beginChange();
        t.buf.putLong(index * entryBytes, entry);
        endChange();
        l2.markDirty(t);
        l2.dependOn(refcounts.cache);
    }

    private void writeL1Entry(long l1i) {
        host.write(header.l1TableOffset + l1i * 8, ByteBuffer.allocate(8).putLong(0, l1[(int) l1i]));
        host.flush();
    }

    /**
     * Grows the L1 table to cover {@code newSize} guest bytes: new table elsewhere, header
     * switch, old table freed (spec notes, L1 growth).
     */
    void growFor(long newSize) {
        long need = Qcow2Header.requiredL1Size(newSize, clusterBits, l2Entries);
        if (need * 8 > MAX_L1_BYTES) {
            throw BlockException.invalid("Image size too large for its cluster size");
        }
        if (need <= header.l1Size) {
            long[] n = new long[(int) need];
            System.arraycopy(l1, 0, n, 0, l1.length);
            if (need > l1.length && header.l1Size > l1.length) {
                ByteBuffer b = ByteBuffer.allocate((int) (need - l1.length) * 8);
                host.read(header.l1TableOffset + l1.length * 8L, b);
                b.flip();
                b.asLongBuffer().get(n, l1.length, (int) (need - l1.length));
            }
            beginChange();
            l1 = n;
            endChange();
            return;
        }
        // entries past l1.length in the old table are never used by a smaller size, keep them anyway
        ByteBuffer old = ByteBuffer.allocate(header.l1Size * 8);
        host.read(header.l1TableOffset, old);
        long[] n = new long[(int) need];
        old.flip();
        old.asLongBuffer().get(n, 0, header.l1Size);
        System.arraycopy(l1, 0, n, 0, l1.length);
        int clusters = (int) ((need * 8 + clusterSize - 1) / clusterSize);
        long off = refcounts.allocate(clusters);
        refcounts.cache.flush();
        ByteBuffer nb = ByteBuffer.allocate((int) need * 8);
        nb.asLongBuffer().put(n);
        host.write(off, nb);
        host.flush();
        host.write(OFF_L1_SIZE, ByteBuffer.allocate(12).putInt(0, (int) need).putLong(4, off));
        host.flush();
        long oldOff = header.l1TableOffset;
        long oldBytes = header.l1Size * 8L;
        header.l1Size = (int) need;
        header.l1TableOffset = off;
        beginChange();
        l1 = n;
        endChange();
        if (oldBytes > 0) {
            refcounts.free(oldOff, oldBytes);
        }
    }
}
