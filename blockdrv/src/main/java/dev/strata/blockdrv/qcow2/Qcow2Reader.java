package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Buffers;
import java.nio.ByteBuffer;

/**
 * What a qcow2 layer shows to a reader: its own data, zero and compressed clusters, and the
 * backing chain under unallocated ones. Used by the driver for guest reads and by the writers
 * for copy-on-write of partial clusters. Thread safety: any thread; the metadata lock is taken
 * only for a mapping lookup, never across a data read.
 */
final class Qcow2Reader {

    private final Qcow2Metadata meta;
    private final BlockNode node;

    Qcow2Reader(Qcow2Metadata meta, BlockNode node) {
        this.meta = meta;
        this.node = node;
    }

    /** The layer under this one, or null. */
    BlockNode backing() {
        return node.backing();
    }

    void read(long offset, ByteBuffer dst) {
        long pos = offset;
        while (dst.hasRemaining()) {
            Extent e = meta.lookup(pos, dst.remaining());
            int n = (int) e.length();
            ByteBuffer part = dst.slice(dst.position(), n);
            readExtent(e, part);
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    /** Fills {@code dst} with what this layer reads at {@code offset} now; zeros past the virtual size. */
    void copyOnWrite(long offset, ByteBuffer dst) {
        long inside = Math.max(0, Math.min(dst.remaining(), meta.size() - offset));
        if (inside > 0) {
            read(offset, dst.slice(0, (int) inside));
        }
        Buffers.zero(dst.slice((int) inside, dst.remaining() - (int) inside));
    }

    /** Fills {@code part} (exactly {@code e.length()} bytes) with what this layer shows for {@code e}. */
    private void readExtent(Extent e, ByteBuffer part) {
        switch (e.kind()) {
            case DATA -> meta.host.readData(e.host(), part);
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
                ByteBuffer c = CompressedClusters.read(meta.host, e.host(), meta.clusterBits);
                int in = (int) (e.guest() & (meta.clusterSize - 1));
                part.put(c.position(in).limit(in + part.remaining()));
            }
        }
    }
}
