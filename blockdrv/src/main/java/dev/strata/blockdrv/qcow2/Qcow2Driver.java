package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.SupportsBackingChange;
import dev.strata.blockdrv.SupportsCompressedWrites;
import dev.strata.blockdrv.SupportsDiscard;
import dev.strata.blockdrv.SupportsMakeEmpty;
import dev.strata.blockdrv.SupportsReopen;
import dev.strata.blockdrv.SupportsResize;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * The qcow2 format driver (versions 2 and 3): reads through backing chains, writes v3 images
 * with exact refcounts, zero clusters, discard, backing-file change and growth.
 *
 * <p>Thread safety: any number of threads may call the I/O methods. All metadata (header fields,
 * L1 table, L2 and refcount caches, allocation state) lives in one {@link Qcow2Metadata}, guarded
 * by its lock (QEMU's {@code s->lock}); guest data is read and written outside it. This class is
 * a facade: it owns the metadata, the reader and the writers, and none of them sees it back.
 * The generic path serialises writes per cluster ({@link #serialisationAlignment()}), so two writes never allocate the same cluster.
 */
public final class Qcow2Driver implements BlockDriver, SupportsWriteZeroes, SupportsDiscard,
        SupportsBackingChange, SupportsResize, SupportsReopen, SupportsMakeEmpty, SupportsCompressedWrites {

    private final Qcow2Metadata meta;
    private final Qcow2Reader reader;
    private final Qcow2Writer writer;
    private final CompressedWriter compressedWriter;
    /** Guarded by the metadata lock. */
    private boolean closed;

    private Qcow2Driver(BlockNode node, Qcow2Metadata meta) {
        this.meta = meta;
        this.reader = new Qcow2Reader(meta, node);
        this.writer = new Qcow2Writer(meta, reader);
        this.compressedWriter = new CompressedWriter(meta, writer);
    }

    /** Opens the image under {@code node} (its file child is attached). */
    static Qcow2Driver open(BlockNode node, BlockOptions options) {
        HostFile host = new HostFile(node.file(), options.getBool("x-mmap", true));
        try {
            return new Qcow2Driver(node, Qcow2Metadata.open(host, options, node.isReadOnly()));
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }

    /** Checks (and with a repair mode, fixes) this image; problems are reported line by line to {@code messages}. */
    public CheckResult check(Qcow2Check.Repair repair, Consumer<String> messages) {
        return Qcow2Check.run(meta, repair, messages);
    }

    @Override
    public String formatName() {
        return "qcow2";
    }

    @Override
    public long size() {
        return meta.size();
    }

    @Override
    public int serialisationAlignment() {
        return meta.clusterSize;
    }

    @Override
    public String backingFileName() {
        meta.lock.lock();
        try {
            return meta.header.backingFile;
        } finally {
            meta.lock.unlock();
        }
    }

    @Override
    public String backingFormat() {
        meta.lock.lock();
        try {
            return meta.header.backingFile == null ? null : meta.header.backingFormat;
        } finally {
            meta.lock.unlock();
        }
    }

    @Override
    public long allocatedFileSize() {
        return meta.host.allocatedSize();
    }

    /** Header facts for {@code img info} and tests; a snapshot taken under the meta.lock. */
    public Qcow2Info info() {
        meta.lock.lock();
        try {
            return new Qcow2Info(meta.header.version, meta.clusterSize, meta.header.refcountBits(), meta.header.extendedL2(),
                    (meta.header.compatible & COMPAT_LAZY_REFCOUNTS) != 0, (meta.header.incompatible & INCOMPAT_CORRUPT) != 0,
                    (meta.header.incompatible & INCOMPAT_DIRTY) != 0, meta.header.compressionType == 0 ? "zlib" : "zstd",
                    meta.header.nbSnapshots);
        } finally {
            meta.lock.unlock();
        }
    }

    // ---- reads ---------------------------------------------------------------------------

    @Override
    public void read(long offset, ByteBuffer dst) {
        reader.read(offset, dst);
    }

    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        Extent e = meta.lookup(offset, bytes);
        BlockStatus.State state = state(e.kind());
        long len = e.length();
        while (len < bytes) {
            Extent next = meta.lookup(offset + len, bytes - len);
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
        return meta.clusterSize;
    }

    @Override
    public void writeCompressed(long offset, ByteBuffer cluster) {
        compressedWriter.write(offset, cluster);
    }

    @Override
    public void makeEmpty() {
        Qcow2Emptier.makeEmpty(meta);
    }

    @Override
    public void flush() {
        if (meta.isReadOnly()) {
            return;
        }
        // Sync the data written so far before taking the metadata lock. That fdatasync is the
        // expensive part of a flush (after a job has written hundreds of MiB it takes a large
        // fraction of a second); done under the lock, as the ordered write-back below would do it,
        // it held every guest write out for that long (the stream benchmark's guest stall). Syncing
        // early only makes data durable sooner, so ordering is untouched, and the barriers under
        // the lock then have little left to write.
        meta.host.flush();
        meta.lock.lock();
        try {
            if (closed || meta.isReadOnly()) {
                return;
            }
            meta.flushCaches();
        } finally {
            meta.lock.unlock();
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
        meta.lock.lock();
        try {
            meta.prepareWrite();
            String oldName = meta.header.backingFile;
            String oldFormat = meta.header.backingFormat;
            meta.header.backingFile = backingName;
            meta.header.backingFormat = backingName == null ? null : backingFormat;
            try {
                meta.header.serialize();
            } catch (BlockException e) {
                meta.header.backingFile = oldName;
                meta.header.backingFormat = oldFormat;
                throw e;
            }
            // everything the new header describes must be on disk before it
            meta.flushCaches();
            meta.writeHeader();
        } finally {
            meta.lock.unlock();
        }
    }

    @Override
    public void resize(long newSize) {
        meta.lock.lock();
        try {
            meta.prepareWrite();
            writer.grow(newSize);
        } finally {
            meta.lock.unlock();
        }
    }

    @Override
    public void reopen(boolean ro) {
        meta.lock.lock();
        try {
            if (ro == meta.isReadOnly()) {
                return;
            }
            if (ro) {
                meta.flushCaches();
            } else {
                meta.checkWritable();
            }
            meta.setReadOnly(ro);
        } finally {
            meta.lock.unlock();
        }
    }

    @Override
    public void close() {
        meta.lock.lock();
        try {
            if (closed) {
                return;
            }
            try {
                if (!meta.isReadOnly()) {
                    meta.flushCaches();
                    meta.host.flush();
                }
            } finally {
                closed = true;
                meta.host.close();
            }
        } finally {
            meta.lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "qcow2 " + meta;
    }
}
