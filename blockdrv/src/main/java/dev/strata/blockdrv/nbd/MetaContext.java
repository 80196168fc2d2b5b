package dev.strata.blockdrv.nbd;

import java.util.ArrayList;
import java.util.List;

/**
 * A metadata context an export offers, with the id QEMU gives it ({@code base:allocation} 0,
 * {@code qemu:allocation-depth} 1, {@code qemu:dirty-bitmap:<name>} 2 + the bitmap's index), and
 * the query rules of {@code NBD_OPT_LIST_META_CONTEXT}/{@code SET_META_CONTEXT}. Immutable.
 *
 * @param bitmap the bitmap for a dirty-bitmap context, else null
 */
record MetaContext(int id, String name, NbdDirtyBitmap bitmap) {

    static final int ID_BASE = 0;
    static final int ID_DEPTH = 1;
    static final int ID_FIRST_BITMAP = 2;

    /** Every context {@code export} offers, in id order. */
    static List<MetaContext> offered(NbdExport export) {
        List<MetaContext> all = new ArrayList<>();
        all.add(new MetaContext(ID_BASE, NbdProtocol.CTX_BASE_ALLOCATION, null));
        if (export.allocationDepth()) {
            all.add(new MetaContext(ID_DEPTH, NbdProtocol.CTX_ALLOCATION_DEPTH, null));
        }
        List<NbdDirtyBitmap> bitmaps = export.bitmaps();
        for (int i = 0; i < bitmaps.size(); i++) {
            all.add(new MetaContext(ID_FIRST_BITMAP + i, NbdProtocol.CTX_DIRTY_BITMAP_PREFIX + bitmaps.get(i).name(), bitmaps.get(i)));
        }
        return all;
    }

    /**
     * The contexts the queries name. Listing also accepts a bare namespace ({@code base:},
     * {@code qemu:}, {@code qemu:dirty-bitmap:}) and no query at all for everything; selecting
     * takes exact names only, and no query selects nothing. Unknown queries match nothing.
     */
    static List<MetaContext> match(NbdExport export, List<String> queries, boolean listing) {
        List<MetaContext> offered = offered(export);
        if (queries.isEmpty()) {
            return listing ? offered : List.of();
        }
        // answered in id order whatever the order of the queries, as QEMU does
        List<MetaContext> chosen = new ArrayList<>();
        for (MetaContext c : offered) {
            if (queries.stream().anyMatch(q -> c.name.equals(q) || listing && isNamespaceOf(q, c.name))) {
                chosen.add(c);
            }
        }
        return chosen;
    }

    private static boolean isNamespaceOf(String query, String name) {
        return switch (query) {
            case "base:" -> name.startsWith("base:");
            case "qemu:" -> name.startsWith("qemu:");
            case NbdProtocol.CTX_DIRTY_BITMAP_PREFIX -> name.startsWith(NbdProtocol.CTX_DIRTY_BITMAP_PREFIX);
            default -> false;
        };
    }
}
