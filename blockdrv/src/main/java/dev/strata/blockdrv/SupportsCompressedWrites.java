package dev.strata.blockdrv;

import java.nio.ByteBuffer;

/**
 * Optional driver ability: stores whole clusters compressed (qcow2's compressed clusters, QEMU's
 * {@code BDRV_REQ_WRITE_COMPRESSED}). Callers go through {@link BlockNode#writeCompressed}, which
 * checks bounds, alignment and read-only state and tracks the request; a driver sees one cluster
 * per call.
 *
 * <p>Thread safety: as {@link BlockDriver}; the generic path serialises requests per
 * {@link #compressedClusterSize()}, so two calls never target the same cluster at once.
 */
public interface SupportsCompressedWrites {

    /** The unit of compressed writes in bytes (the image's cluster size). */
    int compressedClusterSize();

    /**
     * Writes one cluster at the cluster-aligned guest {@code offset}, compressed when that makes
     * it smaller (otherwise as a normal write, as QEMU does). {@code cluster} holds exactly
     * {@link #compressedClusterSize()} bytes, or fewer for the last cluster of a disk whose size
     * is not a cluster multiple. Like QEMU, a driver may refuse a cluster that already has data.
     */
    void writeCompressed(long offset, ByteBuffer cluster);
}
