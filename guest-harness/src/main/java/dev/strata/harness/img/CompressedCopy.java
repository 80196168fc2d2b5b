package dev.strata.harness.img;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Buffers;
import dev.strata.blockdrv.Chains;
import dev.strata.blockdrv.SupportsResize;
import java.io.PrintStream;
import java.nio.ByteBuffer;

/**
 * The copy loop of {@code convert -c}: whole clusters written with
 * {@link BlockNode#writeCompressed}, as {@code qemu-img convert -c} does. A cluster that reads as
 * zeros is skipped (a fresh target reads zeros there already) or, with {@code -n}, zeroed; a
 * compressed write needs the whole cluster, so a cluster is skipped only when all of it is zero.
 * Stateless; used by one command at a time.
 */
final class CompressedCopy {

    private static final int CHUNK = 2 << 20;

    private CompressedCopy() {
    }

    static void copy(BlockNode src, BlockNode dst, long size, boolean overwrite, PrintStream progress) {
        int[] lastPercent = {-1};
        int cs = dst.compressedClusterSize();
        int chunk = Math.max(cs, CHUNK / cs * cs);
        ByteBuffer buf = ByteBuffer.allocate(chunk);
        long pos = 0;
        while (pos < size) {
            int len = (int) Math.min(chunk, size - pos);
            Chains.Allocation al = Chains.isAllocatedAbove(src, null, pos, len);
            if (!al.allocated()) {
                // skip whole unallocated clusters only: pos stays cluster aligned
                long skip = al.bytes() >= size - pos ? size - pos : al.bytes() / cs * cs;
                if (skip > 0) {
                    if (overwrite) {
                        dst.writeZeroes(pos, skip, false);
                    }
                    pos += skip;
                    report(progress, pos, size, lastPercent);
                    continue;
                }
            }
            buf.clear().limit(len);
            src.read(pos, buf);
            for (int at = 0; at < len; at += cs) {
                ByteBuffer cluster = buf.slice(at, Math.min(cs, len - at));
                if (!Buffers.isZero(cluster.duplicate())) {
                    writeCompressed(dst, pos + at, cluster);
                } else if (overwrite) {
                    dst.writeZeroes(pos + at, cluster.remaining(), false);
                }
            }
            pos += len;
            report(progress, pos, size, lastPercent);
        }
    }

    /**
     * One compressed cluster; a failure is reported as qemu-img reports it
     * ({@code error while writing at byte 0: Input/output error}, e.g. for a cluster of a
     * {@code -n} target that already holds data).
     */
    private static void writeCompressed(BlockNode dst, long offset, ByteBuffer cluster) {
        try {
            dst.writeCompressed(offset, cluster);
        } catch (BlockException e) {
            throw new BlockException(e.kind(), "error while writing at byte " + offset + ": " + e.kind().strerror(), e);
        }
    }

    /** The {@code -p} line qemu-img prints, once per whole percent. */
    private static void report(PrintStream progress, long pos, long size, int[] lastPercent) {
        if (progress == null || size == 0) {
            return;
        }
        int pct = (int) (pos * 100 / size);
        if (pct != lastPercent[0]) {
            progress.printf("    (%d.00/100%%)\r", pct);
            lastPercent[0] = pct;
        }
        if (pos >= size) {
            progress.println();
        }
    }

    /**
     * Pads the host file of {@code dst} to a whole number of 512-byte sectors, as qemu-img does at
     * the end of a compressed conversion (the last compressed stream usually ends mid-sector, and
     * sector-based readers of the file would otherwise meet a short read).
     */
    static void padToSector(BlockNode dst) {
        BlockNode file = dst.file();
        if (file == null || !(file.driver() instanceof SupportsResize r)) {
            return;
        }
        long len = file.size();
        if (len % 512 != 0) {
            r.resize((len + 511) / 512 * 512);
        }
    }
}
