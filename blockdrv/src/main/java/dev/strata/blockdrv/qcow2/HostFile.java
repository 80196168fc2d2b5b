package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.SupportsResize;
import dev.strata.blockdrv.file.FileDriver;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Byte-granular access to the image file under a qcow2 node. Reads past EOF return zeros (the
 * file is not padded to whole clusters); writes past EOF grow the file.
 *
 * <p>When the child is the plain {@code file} protocol the driver is called directly: the qcow2
 * node's own tracked requests already cover drain, and skipping the child's generic path keeps
 * the hot path short. Any other child (a filter) goes through its node. Thread safe: the only
 * state is {@code growLock}, which serialises growth of a filter child.
 */
final class HostFile {

    /** Reads into direct buffers of at least this size skip the mapping; see {@link #readData}. */
    static final int PREAD_DIRECT = 64 << 10;

    private final BlockNode file;
    /** Memory-mapped guest data reads, or null (not a plain file, or mapping disabled). */
    private final MappedReads mapped;
    /** Serialises growing (and truncating) a host file that is not a plain file; see {@link #grow}. */
    private final ReentrantLock growLock = new ReentrantLock();

    HostFile(BlockNode file, boolean mapData) {
        this.file = file;
        // a mapping reads through the page cache: never for a file opened with O_DIRECT
        this.mapped = mapData && file.driver() instanceof FileDriver fd && !fd.isDirect() ? MappedReads.open(file.filename()) : null;
    }

    /**
     * Reads guest data (the hot path): from the memory mapping when it covers the range,
     * otherwise as {@link #read}.
     */
    void readData(long offset, ByteBuffer dst) {
        MappedReads m = mapped;
        // a large read into a direct buffer is one kernel copy with pread, and the mapping would
        // add a page fault per page not yet mapped (every page of a freshly written file); heap
        // buffers keep the mapping, pread into them costs a second copy through a native buffer
        boolean preferPread = dst.isDirect() && dst.remaining() >= PREAD_DIRECT;
        if (m != null && offset >= 0 && !preferPread && m.read(offset, dst, this::length)) {
            return;
        }
        read(offset, dst);
    }

    void close() {
        if (mapped != null) {
            mapped.close();
        }
    }

    private BlockDriver direct() {
        BlockDriver d = file.driver();
        return d instanceof FileDriver ? d : null;
    }

    void read(long offset, ByteBuffer dst) {
        if (offset < 0) {
            throw BlockException.corrupt("Negative host offset " + offset);
        }
        BlockDriver d = direct();
        if (d != null) {
            d.read(offset, dst);
        } else {
            file.readPadded(offset, dst);
        }
    }

    void write(long offset, ByteBuffer src) {
        BlockDriver d = direct();
        if (d != null) {
            d.write(offset, src);
            return;
        }
        long end = offset + src.remaining();
        if (end > file.size()) {
            grow(end);
        }
        file.write(offset, src);
    }

    /** The write barrier of the ordering rules: everything written so far is durable after this. */
    /**
     * Grows the file to at least {@code end}. Data writes run outside the metadata lock, so two
     * writers can both see the file too short: the check is repeated under {@link #growLock},
     * otherwise the writer with the smaller end would resize the file back down and cut off the
     * clusters the other one had just written (acknowledged data read back as zeros).
     */
    private void grow(long end) {
        if (!(file.driver() instanceof SupportsResize r)) {
            throw BlockException.unsupported("The file under this qcow2 image cannot grow");
        }
        growLock.lock();
        try {
            if (end > file.size()) {
                r.resize(end);
            }
        } finally {
            growLock.unlock();
        }
    }

    void flush() {
        BlockDriver d = direct();
        if (d != null) {
            d.flush();
        } else {
            file.flush();
        }
    }

    long length() {
        return file.size();
    }

    void truncate(long length) {
        if (file.driver() instanceof SupportsResize r) {
            growLock.lock();
            try {
                r.resize(length);
            } finally {
                growLock.unlock();
            }
        }
    }

    String name() {
        return file.filename();
    }

    long allocatedSize() {
        return file.driver().allocatedFileSize();
    }
}
