package dev.strata.blockdrv;

import java.nio.ByteBuffer;

/**
 * Requests a lower layer cannot take as they are: reads and writes that start or end inside one
 * of its alignment blocks (a host file opened with O_DIRECT, say). A read widens to whole blocks
 * through a bounce buffer; a write reads the partial head and tail blocks, merges the new bytes
 * in, and writes whole blocks back. Bounce buffers are leased from {@link Buffers}, so they are
 * themselves page aligned and an O_DIRECT file takes them without another copy.
 *
 * <p>The caller must keep other writers away from the head and tail blocks between the read and
 * the write: {@link BlockNode} holds a serialising tracked request widened to the alignment, the
 * file driver a per-file lock. Stateless; any thread.
 */
public final class AlignedIo {

    /** Reads {@code dst.remaining()} bytes at an offset (the lower layer's own read). */
    @FunctionalInterface
    public interface Reader {
        void read(long offset, ByteBuffer dst);
    }

    private AlignedIo() {
    }

    /** True when {@code [offset, offset+len)} starts and ends on {@code alignment} (1 = anything goes). */
    public static boolean aligned(int alignment, long offset, long len) {
        return alignment <= 1 || (offset % alignment == 0 && len % alignment == 0);
    }

    static boolean aligned(BlockDriver driver, long offset, long len) {
        return aligned(driver.requestAlignment(), offset, len);
    }

    static void read(BlockDriver driver, long offset, ByteBuffer dst) {
        read(driver.requestAlignment(), driver::read, offset, dst);
    }

    /** @param size the node's size: the last block of an image that ends off the alignment is cut there */
    static void write(BlockDriver driver, long size, long offset, ByteBuffer src) {
        write(driver.requestAlignment(), driver::read, driver::write, size, offset, src);
    }

    /** Reads {@code dst.remaining()} bytes at {@code offset} through whole {@code a}-byte blocks. */
    public static void read(int a, Reader lower, long offset, ByteBuffer dst) {
        int len = dst.remaining();
        if (aligned(a, offset, len)) {
            lower.read(offset, dst);
            return;
        }
        long start = Math.floorDiv(offset, a) * a;
        long end = Math.floorDiv(offset + len + a - 1, a) * a;
        try (Buffers.Lease lease = Buffers.lease((int) (end - start))) {
            ByteBuffer bounce = lease.buffer();
            lower.read(start, bounce);
            bounce.position((int) (offset - start)).limit((int) (offset - start) + len);
            dst.put(bounce);
        }
    }

    /**
     * Writes {@code src} at {@code offset} as whole {@code a}-byte blocks, reading back only the
     * partial head and tail blocks.
     *
     * @param limit where the last block is cut when the write reaches past it (a node that ends off
     *              the alignment); {@code Long.MAX_VALUE} for whole blocks always
     */
    public static void write(int a, Reader lower, Buffers.Writer out, long limit, long offset, ByteBuffer src) {
        int len = src.remaining();
        if (aligned(a, offset, len)) {
            out.write(offset, src);
            return;
        }
        long start = Math.floorDiv(offset, a) * a;
        long end = Math.min(Math.floorDiv(offset + len + a - 1, a) * a, Math.max(limit, offset + len));
        try (Buffers.Lease lease = Buffers.lease((int) (end - start))) {
            ByteBuffer bounce = lease.buffer();
            boolean headRead = offset > start;
            if (headRead) {
                lower.read(start, bounce.slice(0, (int) Math.min(a, end - start)));
            }
            long tailStart = Math.floorDiv(offset + len, a) * a;
            if (offset + len < end && !(headRead && tailStart == start)) {
                lower.read(tailStart, bounce.slice((int) (tailStart - start), (int) (end - tailStart)));
            }
            bounce.position((int) (offset - start));
            bounce.put(src);
            bounce.clear();
            out.write(start, bounce);
        }
    }
}
