package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;

/**
 * What the guest would see at an offset, asked of a whole backing chain: the answers behind
 * {@code base:allocation}, {@code qemu:allocation-depth} and sparse reads. Stateless; any thread.
 */
final class ChainStatus {

    private ChainStatus() {
    }

    /**
     * The first extent at {@code offset} (at most {@code max} bytes) with one answer.
     *
     * @param length how far the answer holds
     * @param zero   the range reads as zeros without being data (a zero cluster, or nothing allocated)
     * @param depth  the layer that answers, 1 for the top; 0 when no layer holds the range
     */
    record Extent(long length, boolean zero, int depth) {
    }

    static Extent at(BlockNode top, long offset, long max) {
        long limit = max;
        int depth = 1;
        for (BlockNode n = top; n != null; n = n.backing(), depth++) {
            // a filter (no backing of its own over a child that has one) answers for its child
            while (n.backing() == null && n.file() != null && n.file().backing() != null) {
                n = n.file();
            }
            if (offset >= n.size()) {
                // a backing file shorter than its overlay reads as zeros there
                return new Extent(limit, true, 0);
            }
            BlockStatus s = n.blockStatus(offset, Math.min(limit, n.size() - offset));
            if (s.state().allocated()) {
                return new Extent(Math.min(limit, s.length()), s.state() == BlockStatus.State.ZERO, depth);
            }
            limit = Math.min(limit, s.length());
        }
        return new Extent(limit, true, 0);
    }

    /** The {@code base:allocation} flags of an extent. */
    static int allocationFlags(Extent e) {
        return e.zero() ? NbdProtocol.STATE_HOLE | NbdProtocol.STATE_ZERO : 0;
    }
}
