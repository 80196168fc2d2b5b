package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockOptions;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The metadata of one open qcow2 image: header, L1/L2 map, refcounts and their caches, the
 * lock that guards them (QEMU's {@code s->lock}), the read-only/writable state, the repair of a
 * dirty image before its first write, and the release of host space that L2 entries gave up.
 * The reader, the writers, the checker and the emptier work on this object; the driver is the
 * facade that owns it and is never handed to them.
 *
 * <p>Thread safety: any thread. Header fields, the map, the refcounts and {@link #prepared} are
 * guarded by {@link #lock}; {@link #size} and {@link #readOnly} are volatile so the I/O paths
 * can read them without it. The host file itself is thread safe.
 */
final class Qcow2Metadata {

    /** QEMU's default upper bound for the L2 cache. */
    static final long DEFAULT_L2_CACHE_MAX = 32L << 20;

    final HostFile host;
    final Qcow2Header header;
    final Refcounts refcounts;
    final ClusterMap map;
    final ReentrantLock lock = new ReentrantLock();
    final int clusterBits;
    final int clusterSize;
    /** Opened by a checker ({@code x-check=on}): dirty and corrupt images may be opened read-write to repair them. */
    private final boolean forCheck;
    private volatile boolean readOnly;
    private volatile long size;
    /** Set once the header has been made safe for writing (unknown autoclear bits cleared). Guarded by lock. */
    private boolean prepared;

    private Qcow2Metadata(HostFile host, Qcow2Header header, BlockOptions options, boolean readOnly) {
        this.host = host;
        this.header = header;
        this.clusterBits = header.clusterBits;
        this.clusterSize = header.clusterSize();
        this.size = header.size;
        this.readOnly = readOnly;
        this.forCheck = options.getBool("x-check", false);
        long coverAll = Qcow2Header.requiredL1Size(header.size, clusterBits, header.l2Entries()) * clusterSize;
        long l2Bytes = options.getSize("l2-cache-size", Math.min(DEFAULT_L2_CACHE_MAX, Math.max(coverAll, 2L * clusterSize)));
        long rcBytes = options.getSize("refcount-cache-size", Math.max(4L * clusterSize, 256L << 10));
        if (l2Bytes < 0 || rcBytes < 0) {
            throw BlockException.invalid("cache sizes must not be negative");
        }
        this.refcounts = new Refcounts(header, host, (int) Math.min(1 << 16, Math.max(4, rcBytes / clusterSize)));
        this.map = new ClusterMap(header, host, refcounts, (int) Math.min(1 << 16, Math.max(2, l2Bytes / clusterSize)));
    }

    /**
     * Reads the header from {@code host} and sets up the caches; a writable image is checked for
     * what Strata cannot write and repaired when dirty. The caller closes {@code host} on failure.
     */
    static Qcow2Metadata open(HostFile host, BlockOptions options, boolean readOnly) {
        ByteBuffer head = ByteBuffer.allocate(512);
        host.read(0, head);
        head.flip();
        int bits = Qcow2Header.peekClusterBits(head);
        ByteBuffer cluster0 = ByteBuffer.allocate(1 << bits);
        host.read(0, cluster0);
        cluster0.clear();
        Qcow2Metadata m = new Qcow2Metadata(host, Qcow2Header.parse(cluster0), options, readOnly);
        if (!readOnly) {
            m.checkWritable();
            if ((m.header.incompatible & INCOMPAT_DIRTY) != 0 && !m.forCheck) {
                m.repairDirty();
            }
        }
        return m;
    }

    /**
     * A dirty image (lazy refcounts in use, or a crash of a program using them) gets its
     * refcounts rebuilt before the first write, as QEMU does on a read-write open.
     */
    private void repairDirty() {
        CheckResult r = Qcow2Check.run(this, Qcow2Check.Repair.ALL, msg -> { });
        if (r.corruptions() > 0 || r.checkErrors() > 0) {
            throw BlockException.corrupt("qcow2 image '" + host.name() + "' is dirty and could not be repaired ("
                    + r.corruptions() + " corruptions remain); run 'qemu-img check -r all'");
        }
        lock.lock();
        try {
            if ((header.incompatible & INCOMPAT_DIRTY) != 0) {
                header.incompatible &= ~INCOMPAT_DIRTY;
                writeHeader();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Why this image cannot be opened read-write, as a thrown error; nothing when it can. */
    void checkWritable() {
        if ((header.incompatible & INCOMPAT_CORRUPT) != 0 && !forCheck) {
            throw new BlockException(BlockException.Kind.CORRUPT, "Image is corrupt; cannot be opened read/write");
        }
        if (header.nbSnapshots != 0) {
            throw BlockException.unsupported("qcow2 image '" + host.name() + "' has internal snapshots;"
                    + " Strata opens such images read-only only");
        }
        if (header.bitmapsExtension != null && (header.autoclear & AUTOCLEAR_BITMAPS) != 0) {
            throw BlockException.unsupported("qcow2 image '" + host.name() + "' has persistent dirty bitmaps;"
                    + " Strata opens such images read-only only");
        }
    }

    long size() {
        return size;
    }

    /** The new virtual size, in memory and in the header fields (not yet on disk). Lock held. */
    void setSize(long s) {
        size = s;
        header.size = s;
    }

    boolean isReadOnly() {
        return readOnly;
    }

    /** Lock held; the caller has flushed the caches (to read-only) or checked writability (to read-write). */
    void setReadOnly(boolean ro) {
        readOnly = ro;
    }

    /** Current mapping of the first extent at {@code offset}; metadata lock taken briefly. */
    Extent lookup(long offset, long bytes) {
        Extent fast = map.tryLookup(offset, bytes);
        if (fast != null) {
            return fast;
        }
        lock.lock();
        try {
            return map.lookup(offset, bytes);
        } finally {
            lock.unlock();
        }
    }

    /** Called with the lock held before the first metadata change: clears autoclear bits we do not maintain. */
    void prepareWrite() {
        if (readOnly) {
            throw new BlockException(BlockException.Kind.PERMISSION, "Block node is read-only");
        }
        if ((header.incompatible & INCOMPAT_CORRUPT) != 0 && !forCheck) {
            throw new BlockException(BlockException.Kind.CORRUPT, "Image is corrupt; cannot be opened read/write");
        }
        if (prepared) {
            return;
        }
        if ((header.incompatible & INCOMPAT_DIRTY) != 0 && !forCheck) {
            repairDirty();
        }
        if (header.autoclear != 0) {
            header.autoclear = 0;
            writeHeader();
        }
        prepared = true;
    }

    /** Writes back the dirty L2 tables and refcount blocks, in their dependency order. Lock held. */
    void flushCaches() {
        map.l2.flush();
        refcounts.cache.flush();
    }

    /**
     * Gives back a run whose data (or COW) write failed, QEMU's {@code qcow2_alloc_cluster_abort}:
     * nothing references it yet (the L2 entries are set only after the data is written), no
     * metadata table lives there, so the refcounts can drop at once and the space be reused.
     * If even that fails the run stays leaked, which is harmless ({@code check -r leaks}).
     */
    void abortAllocation(long hostStart, int clusters, RuntimeException cause) {
        lock.lock();
        try {
            refcounts.free(hostStart, (long) clusters << clusterBits);
        } catch (RuntimeException again) {
            cause.addSuppressed(again);
        } finally {
            lock.unlock();
        }
    }

    /** Remembers the host space an L2 entry owned, to be released once the new entry is in place. */
    void collectFree(long old, List<long[]> toFree) {
        if ((old & OFLAG_COMPRESSED) != 0) {
            long coff = compressedOffset(old, clusterBits);
            toFree.add(new long[] {coff, compressedSize(old, clusterBits)});
        } else if ((old & OFFSET_MASK) != 0) {
            toFree.add(new long[] {old & OFFSET_MASK, clusterSize});
        }
    }

    /** Releases what {@link #collectFree} gathered, once the new L2 entries are in the L2 cache. Lock held. */
    void free(List<long[]> toFree) {
        if (toFree.isEmpty()) {
            return;
        }
        // the references are gone in the L2 cache; they must be on disk before the refcounts drop
        refcounts.cache.dependOn(map.l2);
        for (long[] f : toFree) {
            long off = f[0];
            if ((off & (clusterSize - 1)) == 0 && f[1] == clusterSize) {
                map.l2.discard(off);
            }
            refcounts.free(off, f[1]);
        }
    }

    /** Rewrites the whole of cluster 0 and makes it durable. Lock held. */
    void writeHeader() {
        ByteBuffer b = header.serialize();
        host.write(0, b.clear());
        host.flush();
    }

    @Override
    public String toString() {
        return host.name() + " (" + map.l2 + "; " + refcounts.cache + ")";
    }
}
