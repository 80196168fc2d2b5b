package dev.strata.jobs.mirror;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.jobs.CopyPipeline;
import dev.strata.jobs.IoOperation;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The background copy of one dirty run, done as cheaply as the source allows: the run is split
 * by what the source chain holds there (asked once per extent, neighbouring extents of the same
 * kind merged), ranges with data are read and written in one request each through a pooled
 * direct buffer (no copy through the JDK's temporary buffers), and ranges that read as zeros
 * become a write-zeroes on the target, or nothing at all when the target is known to read zeros
 * there (a fresh target without backing file that the job has not written yet). A failure says
 * which side failed, for the job's two error policies.
 *
 * <p>Called on the copy pipeline's threads; the buffer pool is a concurrent queue, the rest is
 * immutable.
 */
final class MirrorCopy {

    private final BlockNode source;
    private final BlockNode target;
    private final MirrorBitmap bitmap;
    private final boolean targetReadsZeros;
    private final boolean unmap;
    private final int maxIo;
    private final ConcurrentLinkedQueue<ByteBuffer> buffers = new ConcurrentLinkedQueue<>();

    MirrorCopy(BlockNode source, BlockNode target, MirrorBitmap bitmap, boolean targetReadsZeros, boolean unmap, int maxIo) {
        this.source = source;
        this.target = target;
        this.bitmap = bitmap;
        this.targetReadsZeros = targetReadsZeros;
        this.unmap = unmap;
        this.maxIo = maxIo;
    }

    /** Copies {@code [offset, offset+bytes)}; returns whether anything was written on the target. */
    boolean copy(long offset, int bytes) {
        long end = offset + bytes;
        long pos = offset;
        boolean wrote = false;
        Piece p = classify(pos, end - pos);
        while (pos < end) {
            long stop = pos + p.length();
            // merge what follows while it is of the same kind: one request instead of one per layer extent
            Piece next = null;
            while (stop < end && (next = classify(stop, end - stop)).zero() == p.zero()) {
                stop += next.length();
                next = null;
            }
            if (p.zero()) {
                if (!targetReadsZeros || !bitmap.untouched(pos, stop - pos)) {
                    writeZeroes(pos, stop - pos);
                    wrote = true;
                }
            } else {
                copyData(pos, (int) (stop - pos));
                wrote = true;
            }
            pos = stop;
            p = next;
        }
        return wrote;
    }

    private void copyData(long offset, int bytes) {
        ByteBuffer buf = buffer(bytes);
        try {
            try {
                source.read(offset, buf);
            } catch (BlockException e) {
                throw new CopyPipeline.SideFailure(e, IoOperation.READ);
            }
            buf.flip();
            try {
                target.write(offset, buf);
            } catch (BlockException e) {
                throw new CopyPipeline.SideFailure(e, IoOperation.WRITE);
            }
        } finally {
            if (buf.capacity() == maxIo) {
                buffers.add(buf);
            }
        }
    }

    private void writeZeroes(long offset, long bytes) {
        try {
            target.writeZeroes(offset, bytes, unmap);
        } catch (BlockException e) {
            throw new CopyPipeline.SideFailure(e, IoOperation.WRITE);
        }
    }

    private ByteBuffer buffer(int bytes) {
        if (bytes > maxIo) {
            return ByteBuffer.allocate(bytes);   // not expected: runs are at most maxIo
        }
        ByteBuffer b = buffers.poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect(maxIo);
        }
        return b.clear().limit(bytes);
    }

    // ---- what the source chain holds ------------------------------------------------------

    /** The first extent at some offset: whether it reads as zeros through the whole chain, and how long it is. */
    private record Piece(boolean zero, long length) {
    }

    /**
     * What the guest reads at {@code offset}: zeros when a layer says ZERO before any says DATA
     * or no layer has the range; the extent ends where the deciding layer's answer (or that of a
     * layer above it) changes.
     */
    private Piece classify(long offset, long bytes) {
        long limit = bytes;
        for (BlockNode n = source; n != null; n = n.backing()) {
            if (offset >= n.size()) {
                return new Piece(true, limit);   // a parent reads zeros past a shorter backing file's end
            }
            BlockStatus s = status(n, offset, limit);
            if (s.state().allocated()) {
                return new Piece(s.state() == BlockStatus.State.ZERO, Math.min(limit, s.length()));
            }
            limit = Math.min(limit, s.length());
        }
        return new Piece(true, limit);
    }

    private static BlockStatus status(BlockNode n, long offset, long bytes) {
        try {
            return n.blockStatus(offset, Math.min(bytes, n.size() - offset));
        } catch (BlockException e) {
            throw new CopyPipeline.SideFailure(e, IoOperation.READ);
        }
    }
}
