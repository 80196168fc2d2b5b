package dev.strata.blockdrv;

/** Optional driver ability: Frees the storage of a range; discarded ranges read as zeros afterwards for formats whose backing files stay hidden. */
public interface SupportsDiscard {
    void discard(long offset, long bytes);
}
