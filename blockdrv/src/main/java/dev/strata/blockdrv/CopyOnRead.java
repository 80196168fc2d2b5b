package dev.strata.blockdrv;

import dev.strata.blockdrv.io.RequestTracker;
import java.nio.ByteBuffer;

/**
 * QEMU's copy-on-read for one node: the range widened to the driver's serialisation unit is
 * held as one serialising tracked request (a guest write to it waits, and it for the guest
 * write), and each extent this layer does not allocate is read through the backing chain and
 * written here. What this layer already holds is never overwritten: it is newer than anything
 * below. Stateless; runs on the reader's thread ({@link BlockNode#copyOnRead}).
 */
final class CopyOnRead {

    private CopyOnRead() {
    }

    /**
     * Copies up the unallocated parts of {@code [offset, offset+bytes)} (already bounds- and
     * permission-checked) into the node of {@code driver}, whose size is {@code size}.
     *
     * @return bytes actually written into the node
     */
    static long copy(BlockDriver driver, RequestTracker tracker, long size, long offset, int bytes) {
        int serial = driver.serialisationAlignment();
        long start = Math.floorDiv(offset, serial) * (long) serial;
        long end = Math.min(size, Math.floorDiv(offset + bytes + serial - 1, serial) * (long) serial);
        long copied = 0;
        // pieces of at most a pooled buffer (whole serialisation units), copied through a direct
        // buffer: a heap buffer per extent cost an allocation and two hidden native copies
        long chunk = Math.max(serial, Buffers.POOL_BUFFER_SIZE / serial * (long) serial);
        try (RequestTracker.Tracked t = tracker.begin(start, end - start, true, true, serial)) {
            long pos = start;
            while (pos < end) {
                BlockStatus s = driver.blockStatus(pos, Math.min(end - pos, chunk));
                if (!s.state().allocated()) {
                    int len = (int) s.length();
                    try (Buffers.Lease lease = Buffers.lease(len)) {
                        ByteBuffer buf = lease.buffer();
                        AlignedIo.read(driver, pos, buf);
                        buf.flip();
                        if (Buffers.isZero(buf) && driver instanceof SupportsWriteZeroes z && AlignedIo.aligned(driver, pos, len)) {
                            // zeros still have to hide whatever a lower layer holds once the chain is cut
                            z.writeZeroes(pos, len, false);
                        } else {
                            AlignedIo.write(driver, size, pos, buf);
                        }
                    }
                    copied += len;
                }
                pos = s.end();
            }
        }
        return copied;
    }
}
