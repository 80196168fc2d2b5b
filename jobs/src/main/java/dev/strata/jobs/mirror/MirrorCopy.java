package dev.strata.jobs.mirror;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Buffers;
import dev.strata.jobs.ChainExtent;
import dev.strata.jobs.CopyPipeline;
import java.nio.ByteBuffer;

/**
 * The background copy of one dirty run, done as cheaply as the source allows: the run is split
 * by what the source chain holds there ({@link ChainExtent}: block status once per extent,
 * neighbouring extents of the same kind merged); data is read and written in one request per
 * piece through a leased direct buffer ({@link Buffers#lease}: no copy through the JDK's
 * temporary buffers); a range that reads as zeros becomes one write-zeroes on the target, or
 * nothing at all where the target is known to read zeros (a fresh target without backing file
 * that the job has not written there yet). A failure says which side failed, for the job's two
 * error policies.
 *
 * <p>Called on the copy pipeline's threads; immutable (buffers come from the shared pool).
 */
final class MirrorCopy {

    private final BlockNode source;
    private final BlockNode target;
    private final MirrorBitmap bitmap;
    private final boolean targetReadsZeros;
    private final boolean unmap;

    MirrorCopy(BlockNode source, BlockNode target, MirrorBitmap bitmap, boolean targetReadsZeros, boolean unmap) {
        this.source = source;
        this.target = target;
        this.bitmap = bitmap;
        this.targetReadsZeros = targetReadsZeros;
        this.unmap = unmap;
    }

    /** Copies {@code [offset, offset+bytes)}; returns whether anything was written on the target. */
    boolean copy(long offset, int bytes) {
        long end = offset + bytes;
        boolean wrote = false;
        for (long pos = offset; pos < end; ) {
            ChainExtent e = extent(pos, end - pos);
            if (e.zero()) {
                if (!targetReadsZeros || !bitmap.untouched(pos, e.length())) {
                    writeZeroes(pos, e.length());
                    wrote = true;
                }
            } else {
                copyData(pos, (int) e.length());
                wrote = true;
            }
            pos += e.length();
        }
        return wrote;
    }

    private void copyData(long offset, int bytes) {
        try (Buffers.Lease lease = Buffers.lease(bytes)) {
            ByteBuffer buf = lease.buffer();
            CopyPipeline.readSource(() -> source.read(offset, buf));
            buf.flip();
            CopyPipeline.writeTarget(() -> target.write(offset, buf));
        }
    }

    private void writeZeroes(long offset, long bytes) {
        CopyPipeline.writeTarget(() -> target.writeZeroes(offset, bytes, unmap));
    }

    /** What the source chain reads at the range (neighbouring layer extents of one kind merged); a failure is the source's. */
    private ChainExtent extent(long offset, long bytes) {
        return CopyPipeline.readSource(() -> ChainExtent.at(source, offset, bytes));
    }
}
