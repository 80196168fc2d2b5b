package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.Buffers;
import dev.strata.blockdrv.SupportsBackingChange;
import dev.strata.blockdrv.SupportsCompressedWrites;
import dev.strata.blockdrv.SupportsDiscard;
import dev.strata.blockdrv.SupportsMakeEmpty;
import dev.strata.blockdrv.SupportsReopen;
import dev.strata.blockdrv.SupportsResize;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The qcow2 format driver (versions 2 and 3): reads through backing chains, writes v3 images
 * with exact refcounts, zero clusters, discard, backing-file change and growth.
 *
 * <p>Thread safety: any number of threads may call the I/O methods. All metadata (header fields,
 * L1 table, L2 and refcount caches, allocation state) is guarded by {@link #lock}, QEMU's
 * {@code s->lock}; guest data is read and written outside it. The generic path serialises writes
 * per cluster ({@link #serialisationAlignment()}), so two writes never allocate the same cluster.
 */
public final class Qcow2Driver implements BlockDriver, SupportsWriteZeroes, SupportsDiscard,
        SupportsBackingChange, SupportsResize, SupportsReopen, SupportsMakeEmpty, SupportsCompressedWrites {

    /** QEMU's default upper bound for the L2 cache. */
    static final long DEFAULT_L2_CACHE_MAX = 32L << 20;

    final BlockNode node;
    final HostFile host;
    final Qcow2Header header;
    final Refcounts refcounts;
    final ClusterMap map;
    final ReentrantLock lock = new ReentrantLock();
    final int clusterBits;
    final int clusterSize;
    private final Qcow2Writer writer;
    private final CompressedWriter compressedWriter;
    private volatile boolean readOnly;
    private volatile long size;
    /** Set once the header has been made safe for writing (unknown autoclear bits cleared). Guarded by lock. */
    private boolean prepared;
    private boolean closed;
    /** Opened by a checker ({@code x-check=on}): dirty and corrupt images may be opened read-write to repair them. */
    private boolean forCheck;

    private Qcow2Driver(BlockNode node, HostFile host, Qcow2Header header, BlockOptions options) {
        this.node = node;
        this.host = host;
        this.header = header;
        this.clusterBits = header.clusterBits;
        this.clusterSize = header.clusterSize();
        this.size = header.size;
        long coverAll = Qcow2Header.requiredL1Size(header.size, clusterBits, header.l2Entries()) * clusterSize;
        long l2Bytes = options.getSize("l2-cache-size", Math.min(DEFAULT_L2_CACHE_MAX, Math.max(coverAll, 2L * clusterSize)));
        long rcBytes = options.getSize("refcount-cache-size", Math.max(4L * clusterSize, 256L << 10));
        if (l2Bytes < 0 || rcBytes < 0) {
            throw BlockException.invalid("cache sizes must not be negative");
        }
        this.refcounts = new Refcounts(header, host, (int) Math.min(1 << 16, Math.max(4, rcBytes / clusterSize)));
        this.map = new ClusterMap(header, host, refcounts, (int) Math.min(1 << 16, Math.max(2, l2Bytes / clusterSize)));
        this.writer = new Qcow2Writer(this);
        this.compressedWriter = new CompressedWriter(this);
    }

    /** Opens the image under {@code node} (its file child is attached). */
    static Qcow2Driver open(BlockNode node, BlockOptions options) {
        HostFile host = new HostFile(node.file(), options.getBool("x-mmap", true));
        Qcow2Driver d;
        try {
            ByteBuffer head = ByteBuffer.allocate(512);
            host.read(0, head);
            head.flip();
            int bits = Qcow2Header.peekClusterBits(head);
            ByteBuffer cluster0 = ByteBuffer.allocate(1 << bits);
            host.read(0, cluster0);
            cluster0.clear();
            Qcow2Header header = Qcow2Header.parse(cluster0);
            d = new Qcow2Driver(node, host, header, options);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
        try {
            d.readOnly = node.isReadOnly();
            d.forCheck = options.getBool("x-check", false);
            if (!d.readOnly) {
                d.checkWritable();
                if ((d.header.incompatible & INCOMPAT_DIRTY) != 0 && !d.forCheck) {
                    d.repairDirty();
                }
            }
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
        return d;
    }

    /**
     * A dirty image (lazy refcounts in use, or a crash of a program using them) gets its
     * refcounts rebuilt before the first write, as QEMU does on a read-write open.
     */
    private void repairDirty() {
        CheckResult r = Qcow2Check.run(this, Qcow2Check.Repair.ALL, m -> { });
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
    private void checkWritable() {
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

    @Override
    public String formatName() {
        return "qcow2";
    }

    @Override
    public long size() {
        return size;
    }

    void setSize(long s) {
        size = s;
    }

    @Override
    public int serialisationAlignment() {
        return clusterSize;
    }

    @Override
    public String backingFileName() {
        lock.lock();
        try {
            return header.backingFile;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String backingFormat() {
        lock.lock();
        try {
            return header.backingFile == null ? null : header.backingFormat;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long allocatedFileSize() {
        return host.allocatedSize();
    }

    /** Header facts for {@code img info} and tests; a snapshot taken under the lock. */
    public Qcow2Info info() {
        lock.lock();
        try {
            return new Qcow2Info(header.version, clusterSize, header.refcountBits(), header.extendedL2(),
                    (header.compatible & COMPAT_LAZY_REFCOUNTS) != 0, (header.incompatible & INCOMPAT_CORRUPT) != 0,
                    (header.incompatible & INCOMPAT_DIRTY) != 0, header.compressionType == 0 ? "zlib" : "zstd",
                    header.nbSnapshots);
        } finally {
            lock.unlock();
        }
    }

    // ---- reads ---------------------------------------------------------------------------

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

    @Override
    public void read(long offset, ByteBuffer dst) {
        long pos = offset;
        while (dst.hasRemaining()) {
            Extent e = lookup(pos, dst.remaining());
            int n = (int) e.length();
            ByteBuffer part = dst.slice(dst.position(), n);
            readExtent(e, part);
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    /** Fills {@code part} (exactly {@code e.length()} bytes) with what this layer shows for {@code e}. */
    void readExtent(Extent e, ByteBuffer part) {
        switch (e.kind()) {
            case DATA -> host.readData(e.host(), part);
            case ZERO -> Buffers.zero(part);
            case UNALLOCATED -> {
                BlockNode backing = node.backing();
                if (backing == null) {
                    Buffers.zero(part);
                } else {
                    backing.readPadded(e.guest(), part);
                }
            }
            case COMPRESSED -> {
                ByteBuffer c = CompressedClusters.read(host, e.host(), clusterBits);
                int in = (int) (e.guest() & (clusterSize - 1));
                part.put(c.position(in).limit(in + part.remaining()));
            }
        }
    }

    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        Extent e = lookup(offset, bytes);
        BlockStatus.State state = state(e.kind());
        long len = e.length();
        while (len < bytes) {
            Extent next = lookup(offset + len, bytes - len);
            if (state(next.kind()) != state) {
                break;
            }
            len += next.length();
        }
        return switch (state) {
            case DATA -> BlockStatus.data(offset, len, e.kind() == Extent.Kind.DATA ? e.host() : -1);
            case ZERO -> BlockStatus.zero(offset, len);
            case UNALLOCATED -> BlockStatus.unallocated(offset, len);
        };
    }

    private static BlockStatus.State state(Extent.Kind k) {
        return switch (k) {
            case DATA, COMPRESSED -> BlockStatus.State.DATA;
            case ZERO -> BlockStatus.State.ZERO;
            case UNALLOCATED -> BlockStatus.State.UNALLOCATED;
        };
    }

    // ---- writes ----------------------------------------------------------------------------

    @Override
    public void write(long offset, ByteBuffer src) {
        writer.write(offset, src);
    }

    @Override
    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        writer.writeZeroes(offset, bytes, mayUnmap);
    }

    @Override
    public void discard(long offset, long bytes) {
        writer.discard(offset, bytes);
    }

    @Override
    public int compressedClusterSize() {
        return clusterSize;
    }

    @Override
    public void writeCompressed(long offset, ByteBuffer cluster) {
        compressedWriter.write(offset, cluster);
    }

    @Override
    public void makeEmpty() {
        Qcow2Emptier.makeEmpty(this, writer);
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

    /** Rewrites the whole of cluster 0 and makes it durable. Lock held. */
    void writeHeader() {
        ByteBuffer b = header.serialize();
        host.write(0, b.clear());
        host.flush();
    }

    @Override
    public void flush() {
        if (readOnly) {
            return;
        }
        // Sync the data written so far before taking the metadata lock. That fdatasync is the
        // expensive part of a flush (after a job has written hundreds of MiB it takes a large
        // fraction of a second); done under the lock, as the ordered write-back below would do it,
        // it held every guest write out for that long (the stream benchmark's guest stall). Syncing
        // early only makes data durable sooner, so ordering is untouched, and the barriers under
        // the lock then have little left to write.
        host.flush();
        lock.lock();
        try {
            if (closed || readOnly) {
                return;
            }
            map.l2.flush();
            refcounts.cache.flush();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void changeBackingFile(String backingName, String backingFormat) {
        if (backingName != null && backingName.isEmpty()) {
            backingName = null;
        }
        if (backingFormat != null && backingFormat.length() >= MAX_BACKING_FORMAT) {
            throw BlockException.invalid("Backing format name '" + backingFormat + "' is too long");
        }
        lock.lock();
        try {
            prepareWrite();
            String oldName = header.backingFile;
            String oldFormat = header.backingFormat;
            header.backingFile = backingName;
            header.backingFormat = backingName == null ? null : backingFormat;
            try {
                header.serialize();
            } catch (BlockException e) {
                header.backingFile = oldName;
                header.backingFormat = oldFormat;
                throw e;
            }
            // everything the new header describes must be on disk before it
            map.l2.flush();
            refcounts.cache.flush();
            writeHeader();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void resize(long newSize) {
        lock.lock();
        try {
            prepareWrite();
            writer.grow(newSize);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void reopen(boolean ro) {
        lock.lock();
        try {
            if (ro == readOnly) {
                return;
            }
            if (ro) {
                map.l2.flush();
                refcounts.cache.flush();
            } else {
                checkWritable();
            }
            readOnly = ro;
        } finally {
            lock.unlock();
        }
    }

    boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            try {
                if (!readOnly) {
                    map.l2.flush();
                    refcounts.cache.flush();
                    host.flush();
                }
            } finally {
                closed = true;
                host.close();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "qcow2 " + host.name() + " (" + map.l2 + "; " + refcounts.cache + ")";
    }
}
