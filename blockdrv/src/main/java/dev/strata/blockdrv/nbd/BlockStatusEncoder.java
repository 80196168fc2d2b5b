package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockBackend;
import java.nio.ByteBuffer;

/**
 * Builds the payload of one {@code NBD_REPLY_TYPE_BLOCK_STATUS} chunk: the context id, then
 * (length, flags) descriptors covering the request from its start, neighbours with equal flags
 * merged. Stateless; request threads.
 */
final class BlockStatusEncoder {

    /** Most descriptors in one chunk (QEMU's limit, 1 MiB of descriptors). */
    static final int MAX_EXTENTS = (1 << 20) / 8;

    private BlockStatusEncoder() {
    }

    static ByteBuffer encode(BlockBackend backend, MetaContext ctx, long offset, long length, boolean onlyOne) {
        int max = onlyOne ? 1 : MAX_EXTENTS;
        ByteBuffer out = ByteBuffer.allocate(4 + 8 * Math.min(max, 64));
        out.putInt(ctx.id());
        long done = 0;
        int count = 0;
        long runLength = 0;
        int runFlags = -1;
        while (done < length) {
            long off = offset + done;
            long left = length - done;
            long n;
            int flags;
            switch (ctx.id()) {
                case MetaContext.ID_BASE -> {
                    ChainStatus.Extent e = ChainStatus.at(backend.root(), off, left);
                    n = e.length();
                    flags = ChainStatus.allocationFlags(e);
                }
                case MetaContext.ID_DEPTH -> {
                    ChainStatus.Extent e = ChainStatus.at(backend.root(), off, left);
                    n = e.length();
                    flags = e.depth();
                }
                default -> {
                    NbdDirtyBitmap.Run run = ctx.bitmap().firstRun(off, left);
                    n = Math.min(run.length(), left);
                    flags = run.dirty() ? NbdProtocol.STATE_DIRTY : 0;
                }
            }
            if (flags == runFlags) {
                runLength += n;
            } else {
                if (runFlags != -1) {
                    out = put(out, runLength, runFlags);
                    count++;
                    if (count == max) {
                        runFlags = -1;
                        break;
                    }
                }
                runLength = n;
                runFlags = flags;
            }
            done += n;
        }
        if (runFlags != -1) {
            out = put(out, runLength, runFlags);
        }
        return out.flip();
    }

    private static ByteBuffer put(ByteBuffer out, long length, int flags) {
        if (out.remaining() < 8) {
            ByteBuffer bigger = ByteBuffer.allocate(out.capacity() * 2);
            out.flip();
            bigger.put(out);
            out = bigger;
        }
        return out.putInt((int) length).putInt(flags);
    }
}
