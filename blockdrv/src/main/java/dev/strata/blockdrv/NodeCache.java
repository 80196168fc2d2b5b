package dev.strata.blockdrv;

/**
 * The two cache options QEMU keeps per node ({@code BlockdevCacheOptions}): {@code direct}
 * bypasses the host page cache (O_DIRECT on the host file), {@code no-flush} drops flushes
 * before they reach the host. The third part of a {@code cache=} mode, write-back versus
 * write-through, belongs to the {@link BlockBackend} (the device's write cache), not to nodes.
 *
 * <p>Children opened with their parent (a {@code file} child, a backing file named in the image
 * header, {@code file.*} and {@code backing.*} options) inherit the parent's values unless they
 * set their own; nodes referenced by name keep theirs. Immutable.
 */
public record NodeCache(boolean direct, boolean noFlush) {

    public static final NodeCache DEFAULT = new NodeCache(false, false);

    /** The option keys, as {@code -blockdev}, {@code -drive} and {@code blockdev-add} spell them. */
    public static final String DIRECT = "cache.direct";
    public static final String NO_FLUSH = "cache.no-flush";

    /** Reads {@code cache.direct} and {@code cache.no-flush}; fails as QEMU on a value that is not a boolean. */
    public static NodeCache from(BlockOptions o) {
        return new NodeCache(o.getBool(DIRECT, false), o.getBool(NO_FLUSH, false));
    }

    /** {@code child} with the parent's cache keys added where the child does not set its own. */
    public static BlockOptions inherit(BlockOptions parent, BlockOptions child) {
        for (String k : new String[] {DIRECT, NO_FLUSH}) {
            if (parent.has(k) && !child.has(k)) {
                child = child.with(k, parent.get(k));
            }
        }
        return child;
    }

    /** These values as options, to open another node the way this one was (a job's target, a snapshot). */
    public BlockOptions applyTo(BlockOptions o) {
        return o.with(DIRECT, direct ? "on" : "off").with(NO_FLUSH, noFlush ? "on" : "off");
    }
}
