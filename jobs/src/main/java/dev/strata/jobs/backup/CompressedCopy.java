package dev.strata.jobs.backup;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Buffers;
import dev.strata.jobs.ChainExtent;
import dev.strata.jobs.CopyPipeline;
import dev.strata.jobs.JobException;
import java.nio.ByteBuffer;

/**
 * Backup's {@code compress: true} copy: reads a run of the source and stores it in the target
 * cluster by cluster as compressed clusters ({@link BlockNode#writeCompressed}), as QEMU's
 * block-copy does with its compressed-write flag. Clusters that read as zeros are not compressed:
 * left alone where the target already reads zeros, written as zeros otherwise.
 *
 * <p>Stateless; called on copy threads and on guest threads (copy-before-write).
 */
final class CompressedCopy {

    private CompressedCopy() {
    }

    /**
     * Refuses targets that cannot take the backup's runs compressed: no compressed writes at all
     * (QEMU's message, whose drive name is empty for a node, hence the trailing space), or a
     * cluster size that does not divide backup's 64 KiB copy unit.
     */
    static void check(BlockNode target, int copyUnit) {
        if (!target.supportsCompressedWrites()) {
            throw JobException.generic("Compression is not supported for this drive ");
        }
        int cluster = target.compressedClusterSize();
        if (cluster <= 0 || cluster > copyUnit || copyUnit % cluster != 0) {
            throw JobException.generic("compress needs a target cluster size of at most " + (copyUnit >> 10)
                    + " KiB (the target's is " + cluster + " bytes)");
        }
    }

    /** Copies {@code [offset, offset+bytes)} (cluster aligned; may end at the disk's end). */
    static void copy(BlockNode source, BlockNode target, long offset, int bytes) {
        int cluster = target.compressedClusterSize();
        try (Buffers.Lease lease = Buffers.lease(bytes)) {
            ByteBuffer buf = lease.buffer();
            CopyPipeline.readSource(() -> source.read(offset, buf));
            for (int at = 0; at < bytes; at += cluster) {
                int n = Math.min(cluster, bytes - at);
                ByteBuffer piece = buf.slice(at, n);
                long pos = offset + at;
                CopyPipeline.writeTarget(() -> {
                    if (Buffers.isZero(piece)) {
                        if (!ChainExtent.readsZeros(target, pos, n)) {
                            target.writeZeroes(pos, n, false);
                        }
                    } else {
                        target.writeCompressed(pos, piece);
                    }
                });
            }
        }
    }
}
