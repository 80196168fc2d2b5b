package dev.strata.jobs;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;

/**
 * What a whole backing chain reads at a range, the way a reader through {@code top} sees it:
 * either data somewhere in the chain, or zeros (a zero extent in some layer, nothing allocated
 * down to the bottom, or past the end of a shorter backing file). Jobs use it to write zeros
 * cheaply, or not at all, instead of copying buffers full of zeros (QEMU's block-copy does the
 * same with its block-status calls).
 *
 * @param offset start of the extent
 * @param length bytes with the same answer (&gt; 0)
 * @param zero   whether the range reads as zeros through {@code top}
 */
public record ChainExtent(long offset, long length, boolean zero) {

    /**
     * The first extent at {@code offset}, up to {@code bytes} long, merging neighbouring extents
     * with the same answer (from different layers) so a caller makes one request per run.
     * Any thread; block-status calls are ordinary (non-serialising) driver queries.
     */
    public static ChainExtent at(BlockNode top, long offset, long bytes) {
        ChainExtent first = firstAt(top, offset, bytes);
        long end = first.offset + first.length;
        long limit = offset + bytes;
        while (end < limit) {
            ChainExtent next = firstAt(top, end, limit - end);
            if (next.zero != first.zero) {
                break;
            }
            end += next.length;
        }
        return new ChainExtent(offset, end - offset, first.zero);
    }

    private static ChainExtent firstAt(BlockNode top, long offset, long bytes) {
        long len = bytes;
        for (BlockNode n = top; n != null; n = n.backing()) {
            long size = n.size();
            if (offset >= size) {
                return new ChainExtent(offset, len, true);   // beyond a shorter backing file: zeros
            }
            BlockStatus s = n.blockStatus(offset, Math.min(len, size - offset));
            switch (s.state()) {
                case DATA:
                    return new ChainExtent(offset, s.length(), false);
                case ZERO:
                    return new ChainExtent(offset, s.length(), true);
                default:
                    len = s.length();   // look below, for this extent only
            }
            if (n.backing() == null && hidesBacking(n)) {
                return new ChainExtent(offset, len, false);   // a filter passing on its child's answer: copy, never guess
            }
        }
        return new ChainExtent(offset, len, true);
    }

    /** A filter (fault injection) answers with its child's status; the child's backing is then out of our sight. */
    private static boolean hidesBacking(BlockNode n) {
        BlockNode f = n.file();
        return f != null && f.backing() != null;
    }

    /**
     * Whether {@code node} reads zeros at the whole range by itself: no backing file, and no data
     * allocated there. A copy may then skip zero ranges entirely.
     */
    public static boolean readsZeros(BlockNode node, long offset, long bytes) {
        if (node.backing() != null || hidesBacking(node)) {
            return false;
        }
        long end = offset + bytes;
        for (long pos = offset; pos < end; ) {
            BlockStatus s = node.blockStatus(pos, end - pos);
            if (s.state() == BlockStatus.State.DATA) {
                return false;
            }
            pos = s.end();
        }
        return true;
    }
}
