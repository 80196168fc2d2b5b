package dev.strata.blockdrv.nbd;

/**
 * A dirty bitmap an export offers as the meta context {@code qemu:dirty-bitmap:<name>}. The
 * block layer only needs to ask it for runs; the real bitmaps live with the jobs, which adapt them
 * to this interface. Called from request threads of the export, concurrently: implementations
 * must be thread safe.
 */
public interface NbdDirtyBitmap {

    /** The bitmap's name: the context is {@code qemu:dirty-bitmap:} + name. */
    String name();

    /**
     * The first run of bits of one state starting at {@code offset}.
     *
     * @param offset   byte offset within the export
     * @param maxBytes how far to look (the run returned is at most this long)
     * @return whether the run is dirty and its length (&gt; 0, &lt;= maxBytes)
     */
    Run firstRun(long offset, long maxBytes);

    /** A run of equal bits: dirty or clean for {@code length} bytes. */
    record Run(boolean dirty, long length) {
        public Run {
            if (length <= 0) {
                throw new IllegalArgumentException("run length must be positive: " + length);
            }
        }
    }
}
