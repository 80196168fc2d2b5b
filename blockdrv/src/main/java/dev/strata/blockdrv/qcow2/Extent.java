package dev.strata.blockdrv.qcow2;

/**
 * The mapping of one guest range in one qcow2 layer: all its (sub)clusters have the same kind,
 * and for {@link Kind#DATA} the host bytes are contiguous.
 *
 * @param kind   what the layer holds
 * @param guest  guest offset of the extent
 * @param length bytes
 * @param host   host offset of {@code guest} for DATA; the raw L2 entry for COMPRESSED; else -1
 * @param copied for DATA: every cluster has COPIED set, so it may be overwritten in place
 */
record Extent(Kind kind, long guest, long length, long host, boolean copied) {

    /** The (sub)cluster kinds of qcow2 reduced to what reads and writes need. */
    enum Kind {
        DATA,
        ZERO,
        UNALLOCATED,
        COMPRESSED
    }

    long end() {
        return guest + length;
    }
}
