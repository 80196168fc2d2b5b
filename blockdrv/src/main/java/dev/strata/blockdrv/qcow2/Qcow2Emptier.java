package dev.strata.blockdrv.qcow2;

import java.util.ArrayList;
import java.util.List;

/**
 * Empties a qcow2 layer (QEMU's {@code qcow2_make_empty}): every L2 entry becomes 0, so the
 * whole disk reads from the backing file again, and the clusters those entries owned are freed.
 * L2 tables stay allocated (they are referenced by L1 and counted, so {@code qemu-img check}
 * sees no leak). Crash safety comes from the write-back order of {@link Qcow2Metadata#free}: the
 * cleared L2 tables reach the disk before the refcounts drop, so a crash leaves at worst leaked
 * clusters, never a reference to a freed one. Called with the node drained; takes the metadata lock.
 */
final class Qcow2Emptier {

    private Qcow2Emptier() {
    }

    static void makeEmpty(Qcow2Metadata meta) {
        ClusterMap map = meta.map;
        boolean extended = meta.header.extendedL2();
        long clusters = Math.floorDiv(meta.size() + meta.clusterSize - 1, meta.clusterSize);
        meta.lock.lock();
        try {
            meta.prepareWrite();
            List<long[]> toFree = new ArrayList<>();
            for (long c = 0; c < clusters; c++) {
                if (!map.hasTable(c)) {
                    // skip to the first cluster of the next L2 table
                    c = (c / map.l2Entries() + 1) * map.l2Entries() - 1;
                    continue;
                }
                long old = map.entry(c);
                if (extended) {
                    if (old != 0 || map.bitmap(c) != 0) {
                        map.setEntry(c, 0, 0);
                        meta.collectFree(old, toFree);
                    }
                } else if (old != 0) {
                    map.setEntry(c, 0);
                    meta.collectFree(old, toFree);
                }
            }
            meta.free(toFree);
            meta.flushCaches();
            meta.host.flush();
        } finally {
            meta.lock.unlock();
        }
    }
}
