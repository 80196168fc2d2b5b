package dev.strata.blockdrv.qcow2;

/**
 * What a consistency check of a qcow2 image found, with the figures {@code qemu-img check}
 * prints. Immutable.
 *
 * @param corruptions        references the refcounts do not cover, bad flags, bad offsets
 * @param leaks              clusters whose refcount is higher than their references
 * @param checkErrors        things the check itself could not examine
 * @param corruptionsFixed   corruptions a repair fixed (0 without repair)
 * @param leaksFixed         leaks a repair fixed
 * @param imageEndOffset     end of the last cluster with a non-zero refcount
 * @param totalClusters      guest clusters of the virtual disk
 * @param allocatedClusters  guest clusters with host storage
 * @param fragmentedClusters allocated clusters not contiguous with the previous one
 * @param compressedClusters compressed guest clusters
 */
public record CheckResult(long corruptions, long leaks, long checkErrors, long corruptionsFixed, long leaksFixed,
        long imageEndOffset, long totalClusters, long allocatedClusters, long fragmentedClusters, long compressedClusters) {

    /** qemu-img's exit status: 0 clean, 2 corruptions, 3 only leaks, 1 when the check could not run fully. */
    public int exitCode() {
        if (checkErrors > 0) {
            return 1;
        }
        if (corruptions > 0) {
            return 2;
        }
        return leaks > 0 ? 3 : 0;
    }
}
