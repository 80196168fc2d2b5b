package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import java.nio.ByteBuffer;

/**
 * Compressed cluster writes (QEMU's {@code qcow2_co_pwritev_compressed_task},
 * {@code qcow2_alloc_compressed_cluster_offset} and {@code qcow2_alloc_bytes}).
 *
 * <p>Behaviour copied from QEMU 7.2: a cluster is deflated (zero padded when it is the short
 * last one); if the stream is not smaller than a cluster it is written as a normal cluster
 * instead. Otherwise the target cluster must have no host offset (unallocated or zero-plain;
 * anything else is refused with EIO, as QEMU refuses it), the stream gets byte-granular space
 * packed right after the previous compressed stream, possibly running on into the next host
 * cluster, every host cluster it touches gains one reference, and the L2 entry becomes a
 * compressed descriptor (no COPIED flag; subcluster bitmap 0 on extended-L2 images, as QEMU
 * writes it). zstd images are refused: only zlib is implemented.
 *
 * <p>Order, as for every allocating write: refcounts raised under the lock, the stream written
 * outside it, the L2 entry set last (the L2 cache depends on the refcount cache and a flush).
 *
 * <p>Thread safety: any thread; the packing state below is guarded by the metadata lock, and
 * the generic path serialises requests per cluster, so the target entry cannot change between
 * the check and the link.
 */
final class CompressedWriter {

    private final Qcow2Metadata meta;
    /** Where a cluster that does not compress goes: written as a normal cluster. */
    private final Qcow2Writer writer;
    private final int clusterBits;
    private final int clusterSize;

    /** Next free byte in the host cluster being filled, 0 when none (QEMU's free_byte_offset). Guarded by meta.lock. */
    private long freeByteOffset;
    /** Bumped whenever a new host cluster starts being filled. Guarded by meta.lock. */
    private long generation;
    /** Streams of the current generation allocated but not yet linked. Guarded by meta.lock. */
    private int pending;
    /** A linked entry of the current generation (guest cluster and value), or -1. Guarded by meta.lock. */
    private long witnessCluster = -1;
    private long witnessEntry;

    CompressedWriter(Qcow2Metadata meta, Qcow2Writer writer) {
        this.meta = meta;
        this.writer = writer;
        this.clusterBits = meta.clusterBits;
        this.clusterSize = meta.clusterSize;
    }

    /** One cluster at the cluster-aligned guest {@code offset}; short only at the end of the disk. */
    void write(long offset, ByteBuffer cluster) {
        // opening a zstd image is refused today; this keeps it so should zstd reading arrive,
        // rather than writing zlib streams into an image that declares zstd
        if (meta.header.compressionType != 0) {
            throw BlockException.unsupported("Compressed writes to '" + meta.host.name() + "' are not supported:"
                    + " the image uses compression type zstd and Strata only writes zlib");
        }
        int len = cluster.remaining();
        byte[] in = new byte[clusterSize];
        cluster.duplicate().get(in, 0, len);
        // QEMU compresses into cluster_size - 1 bytes: a stream that does not fit is not worth storing
        byte[] out = new byte[clusterSize - 1];
        int n = ClusterDeflater.compress(in, out);
        if (n < 0) {
            writer.write(offset, cluster);
            return;
        }
        long guestCluster = offset >>> clusterBits;
        long host;
        long gen;
        meta.lock.lock();
        try {
            meta.prepareWrite();
            long old = meta.map.entry(guestCluster);
            if ((old & OFFSET_MASK) != 0 || (old & OFLAG_COMPRESSED) != 0) {
                throw new BlockException(BlockException.Kind.IO, "Compressed write to guest offset " + offset
                        + " of '" + meta.host.name() + "' refused: the cluster is already allocated"
                        + " (compressed clusters can only be written into unallocated or zero clusters)");
            }
            // the L2 table before the data, as QEMU's get_cluster_table does
            meta.map.ensureTable(guestCluster);
            host = allocateBytes(n);
            gen = generation;
            pending++;
        } finally {
            meta.lock.unlock();
        }
        try {
            meta.host.write(host, ByteBuffer.wrap(out, 0, n));
        } catch (RuntimeException e) {
            release(host, n, gen, e);
            throw e;
        }
        meta.lock.lock();
        try {
            long sectors = (host + n - 1) / 512 - host / 512;
            long entry = OFLAG_COMPRESSED | (sectors << compressedSectorShift(clusterBits)) | host;
            if (meta.header.extendedL2()) {
                meta.map.setEntry(guestCluster, entry, 0);
            } else {
                meta.map.setEntry(guestCluster, entry);
            }
            if (gen == generation) {
                pending--;
                witnessCluster = guestCluster;
                witnessEntry = entry;
            }
        } finally {
            meta.lock.unlock();
        }
        cluster.position(cluster.limit());
    }

    /**
     * {@code size} bytes of host space (QEMU's {@code qcow2_alloc_bytes}): continue in the
     * cluster being filled when it is still ours and its refcount is below the maximum (so with
     * 1-bit refcounts every stream gets its own cluster); take a fresh cluster when the rest does
     * not fit, spanning into it when it directly follows. Lock held.
     */
    private long allocateBytes(int size) {
        Refcounts rc = meta.refcounts;
        long off = freeByteOffset;
        if (off != 0 && (!stillOurs() || rc.get(off >>> clusterBits) >= rc.maxRefcount())) {
            off = 0;
        }
        long freeInCluster = off == 0 ? 0 : clusterSize - (off & (clusterSize - 1));
        long fresh = -1;
        if (off == 0 || freeInCluster < size) {
            fresh = rc.allocate(1);
            if (off == 0 || ((off + clusterSize - 1) & -clusterSize) != fresh) {
                off = fresh;
            }
            generation++;
            pending = 0;
            witnessCluster = -1;
        }
        for (long c = off >>> clusterBits; c <= (off + size - 1) >>> clusterBits; c++) {
            if (c << clusterBits != fresh) {
                rc.update(c, 1); // allocate already gave the fresh cluster this stream's reference
            }
        }
        freeByteOffset = ((off + size) & (clusterSize - 1)) == 0 ? 0 : off + size;
        return off;
    }

    /**
     * True when the cluster being filled cannot have been freed (and handed out again for other
     * data) since we started filling it: a stream of ours is still in flight there, or the last
     * one we linked is still in place. A dropped reference we cannot see otherwise; refcount
     * alone cannot tell "one compressed stream" from "freed, then reused for a data cluster".
     */
    private boolean stillOurs() {
        if (pending > 0) {
            return true;
        }
        return witnessCluster >= 0 && meta.map.entry(witnessCluster) == witnessEntry;
    }

    /** A failed stream write gives its bytes back (nothing references them yet). */
    private void release(long host, int n, long gen, RuntimeException cause) {
        meta.lock.lock();
        try {
            if (gen == generation) {
                pending--;
            }
            meta.refcounts.free(host, n);
        } catch (RuntimeException again) {
            cause.addSuppressed(again);
        } finally {
            meta.lock.unlock();
        }
    }
}
