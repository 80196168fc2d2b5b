package dev.strata.blockdrv.qcow2;

/**
 * The format-specific facts {@code img info} prints for a qcow2 image (QEMU's
 * "Format specific information"). Immutable.
 *
 * @param version         2 or 3 (QEMU prints compat 0.10 / 1.1)
 * @param clusterSize     bytes per cluster
 * @param refcountBits    width of a refcount entry
 * @param extendedL2      subclusters in use
 * @param lazyRefcounts   compatible bit 0
 * @param corrupt         incompatible bit 1
 * @param dirty           incompatible bit 0
 * @param compressionType zlib or zstd
 * @param snapshots       number of internal snapshots
 */
public record Qcow2Info(int version, int clusterSize, int refcountBits, boolean extendedL2, boolean lazyRefcounts,
        boolean corrupt, boolean dirty, String compressionType, int snapshots) {

    /** QEMU's name for the version: {@code 0.10} or {@code 1.1}. */
    public String compat() {
        return version == 2 ? "0.10" : "1.1";
    }
}
