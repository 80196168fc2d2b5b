package dev.strata.blockdrv;

import java.nio.ByteBuffer;

/**
 * Requests a driver cannot take as they are: reads and writes that start or end inside one of the
 * driver's alignment blocks (a 4 KiB-sector host file opened with O_DIRECT, say). A read widens to
 * whole blocks through a bounce buffer; a write reads the partial head and tail blocks, merges the
 * new bytes in, and writes whole blocks back. The caller must hold a tracked request over the
 * range, serialising and widened to the alignment for a padded write, so no other writer can
 * change the head or tail between the read and the write.
 */
final class AlignedIo {

    private AlignedIo() {
    }

    static boolean aligned(BlockDriver driver, long offset, long len) {
        int a = driver.requestAlignment();
        return a <= 1 || (offset % a == 0 && len % a == 0);
    }

    static void read(BlockDriver driver, long offset, ByteBuffer dst) {
        int len = dst.remaining();
        if (aligned(driver, offset, len)) {
            driver.read(offset, dst);
            return;
        }
        int a = driver.requestAlignment();
        long start = Math.floorDiv(offset, a) * a;
        long end = Math.floorDiv(offset + len + a - 1, a) * a;
        ByteBuffer bounce = ByteBuffer.allocate((int) (end - start));
        driver.read(start, bounce);
        bounce.position((int) (offset - start)).limit((int) (offset - start) + len);
        dst.put(bounce);
    }

    /** @param size the node's size: the last block of an image that ends off the alignment is cut there */
    static void write(BlockDriver driver, long size, long offset, ByteBuffer src) {
        int len = src.remaining();
        if (aligned(driver, offset, len)) {
            driver.write(offset, src);
            return;
        }
        int a = driver.requestAlignment();
        long start = Math.floorDiv(offset, a) * a;
        long end = Math.min(Math.floorDiv(offset + len + a - 1, a) * a, Math.max(size, offset + len));
        ByteBuffer bounce = ByteBuffer.allocate((int) (end - start));
        driver.read(start, bounce);
        bounce.clear().position((int) (offset - start));
        bounce.put(src);
        bounce.clear();
        driver.write(start, bounce);
    }
}
