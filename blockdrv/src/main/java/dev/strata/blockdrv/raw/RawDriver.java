package dev.strata.blockdrv.raw;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.SupportsDiscard;
import dev.strata.blockdrv.SupportsResize;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.nio.ByteBuffer;

/**
 * The {@code raw} format: guest bytes are file bytes, optionally a window
 * ({@code offset=}, {@code size=}) of the file.
 *
 * <p>When the format was guessed rather than given, writes to the first sector that would make
 * the file look like another format are refused (EPERM), exactly so a guest can never turn its
 * raw disk into, say, a qcow2 header that names a host file as backing on the next open.
 *
 * <p>Thread safety: stateless apart from final fields; the file child does the locking.
 */
public final class RawDriver implements BlockDriver, SupportsWriteZeroes, SupportsDiscard, SupportsResize {

    private final BlockNode node;
    private final long offset;
    private final long fixedSize;
    private final boolean probed;

    public RawDriver(BlockNode node, long offset, long fixedSize, boolean probed) {
        this.node = node;
        this.offset = offset;
        this.fixedSize = fixedSize;
        this.probed = probed;
    }

    @Override
    public String formatName() {
        return "raw";
    }

    @Override
    public long size() {
        if (fixedSize >= 0) {
            return fixedSize;
        }
        return Math.max(0, node.file().size() - offset);
    }

    @Override
    public void read(long off, ByteBuffer dst) {
        node.file().readPadded(offset + off, dst);
    }

    @Override
    public void write(long off, ByteBuffer src) {
        if (probed && off < 512) {
            guardFirstSector(off, src);
        }
        node.file().write(offset + off, src);
    }

    private void guardFirstSector(long off, ByteBuffer src) {
        ByteBuffer head = ByteBuffer.allocate(512);
        node.file().readPadded(offset, head);
        int n = (int) Math.min(src.remaining(), 512 - off);
        head.put((int) off, src, src.position(), n);
        head.clear();
        for (var f : DriverRegistry.standard().all()) {
            if (!f.name().equals("raw") && f.probe(head.duplicate()) > 0) {
                throw new BlockException(BlockException.Kind.PERMISSION,
                        "Operation not permitted: the format of this raw image was guessed, and this write to sector 0 would make it look like "
                                + f.name() + "; give format=raw to allow it");
            }
        }
    }

    @Override
    public void writeZeroes(long off, long bytes, boolean mayUnmap) {
        node.file().writeZeroes(offset + off, bytes, mayUnmap);
    }

    @Override
    public void discard(long off, long bytes) {
        node.file().discard(offset + off, bytes);
    }

    @Override
    public void flush() {
        // the file child is flushed by the generic path
    }

    @Override
    public BlockStatus blockStatus(long off, long bytes) {
        return BlockStatus.data(off, bytes, offset + off);
    }

    @Override
    public void resize(long newSize) {
        if (fixedSize >= 0 || offset != 0) {
            throw BlockException.unsupported("Cannot resize a raw image with offset or size options");
        }
        if (node.file().driver() instanceof SupportsResize r) {
            r.resize(newSize);
        } else {
            throw BlockException.unsupported("The file under this raw image cannot be resized");
        }
    }

    @Override
    public void close() {
    }
}
