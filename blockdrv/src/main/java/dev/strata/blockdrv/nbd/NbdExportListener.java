package dev.strata.blockdrv.nbd;

/**
 * Told when an export is gone for good: removed and its last client disconnected (QMP's
 * {@code BLOCK_EXPORT_DELETED}). Called on whichever thread finished the export (the monitor's, or
 * the thread of its last connection); must not block.
 */
@FunctionalInterface
public interface NbdExportListener {

    void exportDeleted(NbdExport export);
}
