package dev.strata.blockdrv.nbd;

/** How {@link NbdServer#removeExport} treats clients still connected (QMP {@code nbd-server-remove} mode). */
public enum NbdRemoveMode {
    /** Refuse while any client uses the export. */
    SAFE,
    /** Disconnect its clients (requests in flight finish first), then remove it. */
    HARD
}
