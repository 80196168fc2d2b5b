package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * {@code qemu-img check} for qcow2: recounts every reference in the file (header, refcount
 * table and blocks, active and snapshot L1/L2 tables, data and compressed clusters), compares
 * with the stored refcounts and the COPIED flags, and optionally repairs leaks ({@code -r leaks})
 * or also too-low refcounts and COPIED flags ({@code -r all}). Messages use QEMU's words.
 *
 * <p>Runs with the metadata lock held for its whole duration; memory is one int per
 * host cluster of the file (refused beyond {@link #MAX_CLUSTERS}).
 */
public final class Qcow2Check {

    /** What a check may change. */
    public enum Repair { NONE, LEAKS, ALL }

    static final long MAX_CLUSTERS = 1L << 27;

    private final Qcow2Metadata meta;
    private final Consumer<String> out;
    private final int cs;
    private final int cb;
    private int[] refs;
    private long nbClusters;
    private long corruptions;
    private long leaks;
    private long checkErrors;
    private long allocated;
    private long fragmented;
    private long compressed;

    private Qcow2Check(Qcow2Metadata meta, Consumer<String> out) {
        this.meta = meta;
        this.out = out;
        this.cs = meta.clusterSize;
        this.cb = meta.clusterBits;
    }

    /** Checks (and with a repair mode, fixes) the image of {@code meta}; problems are reported line by line to {@code messages}. */
    static CheckResult run(Qcow2Metadata meta, Repair repair, Consumer<String> messages) {
        meta.lock.lock();
        try {
            if (!meta.isReadOnly()) {
                meta.flushCaches();
            }
            Qcow2Check first = new Qcow2Check(meta, messages);
            first.count(repair);
            if (repair == Repair.NONE || (first.corruptions == 0 && first.leaks == 0)) {
                return first.result(0, 0);
            }
            if (meta.isReadOnly()) {
                throw new BlockException(BlockException.Kind.PERMISSION, "Cannot repair a read-only image");
            }
            meta.flushCaches();
            Qcow2Check again = new Qcow2Check(meta, s -> { });
            again.count(Repair.NONE);
            long fixedLeaks = first.leaks - again.leaks;
            long fixedCorruptions = first.corruptions - again.corruptions;
            if (again.corruptions == 0 && (meta.header.incompatible & (INCOMPAT_DIRTY | INCOMPAT_CORRUPT)) != 0) {
                meta.header.incompatible &= ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
                meta.writeHeader();
            }
            return again.result(fixedCorruptions, fixedLeaks);
        } finally {
            meta.lock.unlock();
        }
    }

    private CheckResult result(long fixedCorruptions, long fixedLeaks) {
        long end = 0;
        Refcounts rc = meta.refcounts;
        for (long c = nbClusters - 1; c >= 0; c--) {
            if (storedOrZero(rc, c) > 0) {
                end = (c + 1) * cs;
                break;
            }
        }
        long total = (meta.size() + cs - 1) / cs;
        return new CheckResult(corruptions, leaks, checkErrors, fixedCorruptions, fixedLeaks, end, total, allocated, fragmented, compressed);
    }

    private long storedOrZero(Refcounts rc, long c) {
        try {
            return rc.get(c);
        } catch (BlockException e) {
            return 0;
        }
    }

    private void count(Repair repair) {
        Qcow2Header h = meta.header;
        long fileLen = meta.host.length();
        nbClusters = (fileLen + cs - 1) / cs;
        if (nbClusters > MAX_CLUSTERS) {
            checkErrors++;
            out.accept("ERROR image file too large to check (" + nbClusters + " clusters)");
            nbClusters = MAX_CLUSTERS;
        }
        refs = new int[(int) nbClusters];
        ref(0, cs);
        ref(h.refcountTableOffset, (long) h.refcountTableClusters * cs);
        // refcount blocks
        long[] table = meta.refcounts.table();
        for (int i = 0; i < table.length; i++) {
            long e = table[i];
            if (e == 0) {
                continue;
            }
            if ((e & REFT_RESERVED_MASK) != 0) {
                out.accept("ERROR refcount table entry " + i + " has reserved bits set");
                corruptions++;
                continue;
            }
            long off = e & REFT_OFFSET_MASK;
            if ((off & (cs - 1)) != 0) {
                out.accept("ERROR refcount block " + i + " is not cluster aligned; refcount table entry corrupted");
                corruptions++;
                continue;
            }
            if ((off >>> cb) >= nbClusters) {
                out.accept("ERROR refcount block " + i + " is outside image");
                corruptions++;
                continue;
            }
            ref(off, cs);
        }
        walkL1(h.l1TableOffset, h.l1Size, true, repair);
        walkSnapshots(h);
        compare(repair);
        if (repair == Repair.ALL) {
            fixCopied();
        }
    }

    /** Counts a reference to every host cluster of {@code [off, off+len)}. */
    private void ref(long off, long len) {
        if (len <= 0) {
            return;
        }
        long first = off >>> cb;
        long last = (off + len - 1) >>> cb;
        for (long c = first; c <= last; c++) {
            if (c >= nbClusters) {
                out.accept("ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x"
                        + Long.toHexString(c << cb) + " size 0x" + Long.toHexString((long) cs));
                corruptions++;
                return;
            }
            if (refs[(int) c] < Integer.MAX_VALUE) {
                refs[(int) c]++;
            }
        }
    }

    private long[] readTable(long off, long entries) {
        if (entries > MAX_L1_BYTES / 8) {
            throw BlockException.corrupt("table too large");
        }
        ByteBuffer b = ByteBuffer.allocate((int) entries * 8);
        meta.host.read(off, b);
        b.flip();
        long[] t = new long[(int) entries];
        b.asLongBuffer().get(t);
        return t;
    }

    private void walkL1(long l1Offset, long l1Size, boolean active, Repair repair) {
        ref(l1Offset, l1Size * 8);
        long[] l1;
        try {
            l1 = readTable(l1Offset, l1Size);
        } catch (BlockException e) {
            out.accept("ERROR: I/O error in check_refcounts_l1");
            checkErrors++;
            return;
        }
        long nextContiguous = 0;
        int entryBytes = meta.header.l2EntryBytes();
        for (int i = 0; i < l1.length; i++) {
            long e = l1[i];
            if (e == 0) {
                continue;
            }
            if ((e & L1E_RESERVED_MASK) != 0) {
                out.accept("ERROR found L1 entry with reserved bits set: " + Long.toHexString(e));
                corruptions++;
            }
            long l2off = e & OFFSET_MASK;
            if (l2off == 0) {
                continue;
            }
            if ((l2off & (cs - 1)) != 0) {
                out.accept("ERROR l2_offset=" + Long.toHexString(l2off) + ": Table is not cluster aligned; L1 entry corrupted");
                corruptions++;
                continue;
            }
            ref(l2off, cs);
            ByteBuffer t = ByteBuffer.allocate(cs);
            meta.host.read(l2off, t);
            for (int j = 0; j < cs / entryBytes; j++) {
                long l2e = t.getLong(j * entryBytes);
                long bitmap = entryBytes == 16 ? t.getLong(j * entryBytes + 8) : 0;
                if ((l2e & OFLAG_COMPRESSED) != 0) {
                    if ((l2e & OFLAG_COPIED) != 0) {
                        out.accept("ERROR: coffset=0x" + Long.toHexString(compressedOffset(l2e, cb))
                                + ": copied flag must never be set for compressed clusters");
                        corruptions++;
                    }
                    if (bitmap != 0) {
                        out.accept("ERROR compressed cluster " + j + " with non-zero subcluster allocation bitmap, entry=0x"
                                + Long.toHexString(l2e));
                        corruptions++;
                    }
                    ref(compressedOffset(l2e, cb), compressedSize(l2e, cb));
                    if (active) {
                        allocated++;
                        compressed++;
                        fragmented++;
                    }
                    continue;
                }
                long off = l2e & OFFSET_MASK;
                if (entryBytes == 16) {
                    long alloc = bitmap & SUBCLUSTER_ALLOC_MASK;
                    if (off != 0 && (alloc & (bitmap >>> 32)) != 0) {
                        out.accept("ERROR offset=" + Long.toHexString(off) + ": Allocated cluster has corrupted subcluster allocation bitmap");
                        corruptions++;
                    } else if (off == 0 && alloc != 0) {
                        out.accept("ERROR: Unallocated cluster has non-zero subcluster allocation bitmap");
                        corruptions++;
                    }
                }
                if (off == 0) {
                    continue;
                }
                if ((l2e & (entryBytes == 16 ? L2E_EXT_RESERVED_MASK : L2E_STD_RESERVED_MASK)) != 0) {
                    out.accept("ERROR found L2 entry with reserved bits set: " + Long.toHexString(l2e));
                    corruptions++;
                }
                if ((off & (cs - 1)) != 0) {
                    out.accept("ERROR offset=" + Long.toHexString(off) + ": Data cluster is not properly aligned; L2 entry corrupted.");
                    corruptions++;
                    continue;
                }
                if (active) {
                    allocated++;
                    if (nextContiguous != 0 && off != nextContiguous) {
                        fragmented++;
                    }
                    nextContiguous = off + cs;
                }
                ref(off, cs);
            }
        }
    }

    private void walkSnapshots(Qcow2Header h) {
        if (h.nbSnapshots == 0) {
            return;
        }
        long off = h.snapshotsOffset;
        long start = off;
        for (int i = 0; i < h.nbSnapshots; i++) {
            ByteBuffer fixed = ByteBuffer.allocate(40);
            meta.host.read(off, fixed);
            long l1off = fixed.getLong(0);
            long l1size = Integer.toUnsignedLong(fixed.getInt(8));
            int idLen = fixed.getShort(12) & 0xFFFF;
            int nameLen = fixed.getShort(14) & 0xFFFF;
            long extra = Integer.toUnsignedLong(fixed.getInt(36));
            if ((l1off & (cs - 1)) != 0 || l1size * 8 > MAX_L1_BYTES || extra > 1024) {
                out.accept("ERROR snapshot " + i + " has an invalid L1 table (offset 0x" + Long.toHexString(l1off) + ", size " + l1size + ")");
                corruptions++;
                return;
            }
            walkL1(l1off, l1size, false, Repair.NONE);
            off += (40 + extra + idLen + nameLen + 7) & ~7L;
        }
        ref(start, off - start);
    }

    private void compare(Repair repair) {
        Refcounts rc = meta.refcounts;
        for (long c = 0; c < nbClusters; c++) {
            long stored;
            try {
                stored = rc.get(c);
            } catch (BlockException e) {
                out.accept("Can't get refcount for cluster " + c + ": Input/output error");
                checkErrors++;
                continue;
            }
            long computed = refs[(int) c];
            if (stored == computed) {
                continue;
            }
            boolean leak = stored > computed;
            boolean fix = repair == Repair.ALL || (repair == Repair.LEAKS && leak);
            out.accept((leak ? "Leaked cluster " : "ERROR cluster ") + c + " refcount=" + stored + " reference=" + computed);
            if (fix) {
                out.accept("Repairing cluster " + c + " refcount=" + stored + " reference=" + computed);
                if (c == 0 || computed <= rc.maxRefcount()) {
                    // new refcount blocks must not land on clusters whose stored count is still too low
                    rc.allocateFrom(nbClusters);
                    rc.set(c, Math.min(computed, rc.maxRefcount()));
                }
            }
            if (leak) {
                leaks++;
            } else {
                corruptions++;
            }
        }
        checkCopied(false);
    }

    private void fixCopied() {
        checkCopied(true);
    }

    /** COPIED must equal "refcount is 1" for active L1 entries and for normal / zero-alloc L2 entries. */
    private void checkCopied(boolean fix) {
        Qcow2Header h = meta.header;
        long[] l1;
        try {
            l1 = readTable(h.l1TableOffset, h.l1Size);
        } catch (BlockException e) {
            return;
        }
        int entryBytes = h.l2EntryBytes();
        Refcounts rc = meta.refcounts;
        for (int i = 0; i < l1.length; i++) {
            long l2off = l1[i] & OFFSET_MASK;
            if (l2off == 0 || (l2off & (cs - 1)) != 0 || (l2off >>> cb) >= nbClusters) {
                continue;
            }
            long r = storedOrZero(rc, l2off >>> cb);
            boolean copied = (l1[i] & OFLAG_COPIED) != 0;
            if (copied != (r == 1)) {
                if (fix) {
                    meta.map.setL1Entry(i, r == 1 ? l1[i] | OFLAG_COPIED : l1[i] & ~OFLAG_COPIED);
                } else {
                    out.accept("ERROR OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry=" + Long.toHexString(l1[i]) + " refcount=" + r);
                    corruptions++;
                }
            }
            ByteBuffer t = ByteBuffer.allocate(cs);
            meta.host.read(l2off, t);
            for (int j = 0; j < cs / entryBytes; j++) {
                long e = t.getLong(j * entryBytes);
                long off = e & OFFSET_MASK;
                if ((e & OFLAG_COMPRESSED) != 0 || off == 0 || (off & (cs - 1)) != 0 || (off >>> cb) >= nbClusters) {
                    continue;
                }
                long dr = storedOrZero(rc, off >>> cb);
                if (((e & OFLAG_COPIED) != 0) != (dr == 1)) {
                    if (fix) {
                        meta.map.setRawL2Entry(l2off, j, dr == 1 ? e | OFLAG_COPIED : e & ~OFLAG_COPIED);
                    } else {
                        out.accept("ERROR OFLAG_COPIED data cluster: l2_entry=" + Long.toHexString(e) + " refcount=" + dr);
                        corruptions++;
                    }
                }
            }
        }
    }
}
