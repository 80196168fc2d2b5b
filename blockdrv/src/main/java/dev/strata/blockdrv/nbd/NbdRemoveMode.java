package dev.strata.blockdrv.nbd;

/** How {@link NbdServer#removeExport} treats clients still connected (QMP {@code nbd-server-remove} mode). */
public enum NbdRemoveMode {
    /** Refuse while any client uses the export. */
    SAFE,
    /** Disconnect its clients at once (requests in flight finish their I/O, their replies are dropped), then remove it. */
    HARD
}
