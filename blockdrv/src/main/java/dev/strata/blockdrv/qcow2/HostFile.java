package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.SupportsResize;
import dev.strata.blockdrv.file.FileDriver;
import java.nio.ByteBuffer;

/**
 * Byte-granular access to the image file under a qcow2 node. Reads past EOF return zeros (the
 * file is not padded to whole clusters); writes past EOF grow the file.
 *
 * <p>When the child is the plain {@code file} protocol the driver is called directly: the qcow2
 * node's own tracked requests already cover drain, and skipping the child's generic path keeps
 * the hot path short. Any other child (a filter) goes through its node. Thread safe: stateless.
 */
final class HostFile {

    private final BlockNode file;
    /** Memory-mapped guest data reads, or null (not a plain file, or mapping disabled). */
    private final MappedReads mapped;

    HostFile(BlockNode file, boolean mapData) {
        this.file = file;
        this.mapped = mapData && file.driver() instanceof FileDriver ? MappedReads.open(file.filename()) : null;
    }

    /**
     * Reads guest data (the hot path): from the memory mapping when it covers the range,
     * otherwise as {@link #read}.
     */
    void readData(long offset, ByteBuffer dst) {
        MappedReads m = mapped;
        if (m != null && offset >= 0 && m.read(offset, dst, this::length)) {
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
            if (file.driver() instanceof SupportsResize r) {
                r.resize(end);
            } else {
                throw BlockException.unsupported("The file under this qcow2 image cannot grow");
            }
        }
        file.write(offset, src);
    }

    /** The write barrier of the ordering rules: everything written so far is durable after this. */
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
            r.resize(length);
        }
    }

    String name() {
        return file.filename();
    }

    long allocatedSize() {
        return file.driver().allocatedFileSize();
    }
}
