package dev.strata.blockdrv;

/** Optional driver ability: Writes zeros efficiently (zero clusters, holes) instead of zero buffers. */
public interface SupportsWriteZeroes {
    void writeZeroes(long offset, long bytes, boolean mayUnmap);
}
