package dev.strata.blockdrv;

/** Optional driver ability: switch between read-only and read-write without closing (commit writes into a backing file). */
public interface SupportsReopen {
    void reopen(boolean readOnly);
}
