package dev.strata.blockdrv;

/**
 * What one layer says about a byte range: the first extent starting at {@code offset} whose
 * bytes all have the same state in this node (not looking at the backing chain).
 *
 * @param offset     guest offset of the extent
 * @param length     extent length in bytes (&gt; 0)
 * @param state      data, zero or unallocated in this layer
 * @param hostOffset where the data lives in the node's {@code file} child, or -1 when not known
 */
public record BlockStatus(long offset, long length, State state, long hostOffset) {

    /** The state of an extent within one layer. */
    public enum State {
        /** This layer holds data for the range. */
        DATA,
        /** This layer says the range reads as zeros (and hides the backing file). */
        ZERO,
        /** This layer has nothing for the range: reads go to the backing file, or zeros without one. */
        UNALLOCATED;

        /** Allocated in QEMU's sense: the layer answers reads itself. */
        public boolean allocated() {
            return this != UNALLOCATED;
        }
    }

    public BlockStatus {
        if (length <= 0) {
            throw new IllegalArgumentException("extent length must be positive: " + length);
        }
    }

    public static BlockStatus data(long offset, long length, long hostOffset) {
        return new BlockStatus(offset, length, State.DATA, hostOffset);
    }

    public static BlockStatus zero(long offset, long length) {
        return new BlockStatus(offset, length, State.ZERO, -1);
    }

    public static BlockStatus unallocated(long offset, long length) {
        return new BlockStatus(offset, length, State.UNALLOCATED, -1);
    }

    public long end() {
        return offset + length;
    }
}
