package dev.strata.blockdrv;

import java.util.ArrayList;
import java.util.List;

/** Questions about backing chains that stream, commit and mirror ask; stateless. */
public final class Chains {

    private Chains() {
    }

    /** The answer for the first extent of a range: allocated or not, and how far that holds. */
    public record Allocation(boolean allocated, long bytes) {
    }

    /**
     * Whether {@code [offset, offset+bytes)} is allocated in any layer from {@code top} down to,
     * but not including, {@code base} (null base: the whole chain). Returns the answer for the
     * longest prefix of the range for which it is the same: the primitive that lets jobs skip
     * what needs no copying, so their cost follows allocated data rather than virtual size.
     */
    public static Allocation isAllocatedAbove(BlockNode top, BlockNode base, long offset, long bytes) {
        long limit = bytes;
        for (BlockNode n = top; n != null && n != base; n = n.backing()) {
            if (offset >= n.size()) {
                // past this layer's end the guest reads zeros whatever lies below: that counts as
                // allocated, or cutting the chain would let older data show through
                return new Allocation(true, limit);
            }
            BlockStatus s = n.blockStatus(offset, Math.min(limit, n.size() - offset));
            if (s.state().allocated()) {
                return new Allocation(true, s.length());
            }
            limit = Math.min(limit, s.length());
        }
        return new Allocation(false, limit);
    }

    /** The layers from {@code top} down to, not including, {@code base} (null: the whole chain), top first. */
    public static List<BlockNode> above(BlockNode top, BlockNode base) {
        List<BlockNode> l = new ArrayList<>();
        for (BlockNode n = top; n != null && n != base; n = n.backing()) {
            l.add(n);
        }
        return l;
    }

    /** The chain from {@code top} downwards, top first. */
    public static List<BlockNode> chain(BlockNode top) {
        List<BlockNode> l = new ArrayList<>();
        for (BlockNode n = top; n != null; n = n.backing()) {
            l.add(n);
        }
        return l;
    }

    /**
     * Finds the image called {@code filename} below {@code top} (the stored backing string or the
     * resolved path both match, as in QEMU); null when it is not in the backing chain.
     */
    public static BlockNode findBacking(BlockNode top, String filename) {
        java.nio.file.Path wanted = java.nio.file.Path.of(filename).toAbsolutePath().normalize();
        BlockNode above = top;
        for (BlockNode n = top.backing(); n != null; above = n, n = n.backing()) {
            String stored = above.backingFileName();
            if (filename.equals(stored) || filename.equals(n.filename())) {
                return n;
            }
            if (java.nio.file.Path.of(n.filename()).toAbsolutePath().normalize().equals(wanted)) {
                return n;
            }
        }
        return null;
    }
}
