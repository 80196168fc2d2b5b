package dev.strata.blockdrv;

import java.nio.file.Path;
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
     * Finds the image {@code name} names below {@code top}, as a base or top for stream and
     * commit. QEMU's rule ({@code bdrv_find_backing_image}): a relative name is taken relative to
     * the directory of the overlay whose backing is being looked at, and the canonical path is
     * compared with the overlay's backing file (its header string, resolved the same way) and with
     * the backing image's own file. Strata adds: the backing string exactly as written in the
     * overlay's header; the file name {@code info block -n} prints for the image; and a relative
     * name taken from the current directory. Null when nothing matches.
     *
     * @throws BlockException (invalid argument) naming both images when the name matches two
     *                        different images of the chain
     */
    public static BlockNode findBacking(BlockNode top, String name) {
        List<BlockNode> found = new ArrayList<>();
        BlockNode above = top;
        for (BlockNode n = top.backing(); n != null; above = n, n = n.backing()) {
            if (!found.contains(n) && names(above, n, name)) {
                found.add(n);
            }
        }
        if (found.size() > 1) {
            throw BlockException.invalid("'" + name + "' names two images of the backing chain: '" + found.get(0).filename()
                    + "' and '" + found.get(1).filename() + "'");
        }
        return found.isEmpty() ? null : found.get(0);
    }

    /** Whether {@code name} names {@code backing}, the backing node of {@code overlay}. */
    private static boolean names(BlockNode overlay, BlockNode backing, String name) {
        String stored = overlay.backingFileName();
        if (name.equals(stored) || name.equals(backing.filename())) {
            return true;
        }
        Path own = realPath(Path.of(backing.filename()));
        Path wanted = realPath(relativeTo(overlay, name));
        if (wanted != null && (wanted.equals(own) || stored != null && !stored.isEmpty()
                && wanted.equals(realPath(relativeTo(overlay, stored))))) {
            return true;
        }
        Path fromCwd = realPath(Path.of(name));
        return fromCwd != null && fromCwd.equals(own);
    }

    /** {@code name} as QEMU's {@code bdrv_make_absolute_filename} takes it: relative to the overlay's directory. */
    private static Path relativeTo(BlockNode overlay, String name) {
        Path p = Path.of(name);
        if (p.isAbsolute() || overlay.filename() == null || overlay.filename().isEmpty()) {
            return p;
        }
        Path dir = Path.of(overlay.filename()).toAbsolutePath().getParent();
        return dir == null ? p : dir.resolve(p);
    }

    /** The canonical path ({@code realpath}), or null when the file does not exist or the name is no path. */
    private static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }
}
