package dev.strata.monitor.nbd;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.nbd.NbdExport;

/**
 * One block export as {@code query-block-exports} lists it: the NBD export, the node it serves,
 * and whether it is shutting down (removed, waiting for its clients to leave).
 */
record ExportEntry(NbdExport export, BlockNode node, boolean shuttingDown) {

    String id() {
        return export.id();
    }

    ExportEntry closing() {
        return new ExportEntry(export, node, true);
    }
}
