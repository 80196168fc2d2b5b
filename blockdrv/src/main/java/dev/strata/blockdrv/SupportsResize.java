package dev.strata.blockdrv;

/** Optional driver ability: Changes the virtual size. */
public interface SupportsResize {
    void resize(long newSize);
}
