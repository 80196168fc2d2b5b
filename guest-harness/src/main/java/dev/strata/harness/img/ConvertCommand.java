package dev.strata.harness.img;

import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Buffers;
import dev.strata.blockdrv.Chains;
import dev.strata.blockdrv.DriverRegistry;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;

/**
 * {@code img convert [-c] [-f fmt] [-O raw|qcow2] [-B backing_file [-F backing_fmt]] [-o options] [-n] [-q] [-p] [-U] IN OUT}:
 * copies the guest content of IN (its whole chain) into a new standalone image, skipping ranges
 * that read as zeros so the output stays sparse; {@code -c} stores the clusters compressed
 * ({@link CompressedCopy}). With {@code -B} the output is an overlay of that backing file and, as
 * in qemu-img 7.2, only what IN's own top layer holds is copied (its zero clusters as zeros): the
 * rest is assumed to be what the new backing file already has. Stateless.
 */
final class ConvertCommand implements ImgTool.Command {

    private static final int CHUNK = 2 << 20;

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        ImgOptions a = new ImgOptions(argv, 0, Set.of("f", "O", "o", "S", "t", "T", "m", "B", "F"), Set.of("q", "p", "n", "U", "c", "W"));
        if (a.positional().size() != 2) {
            throw new ImgOptions.UsageException("Expecting one input and one output file name");
        }
        String in = a.positional().get(0);
        String outFile = a.positional().get(1);
        String fmt = a.get("O", "raw");
        BlockDriverFactory f = DriverRegistry.standard().find(fmt);
        if (f == null) {
            err.println(ImgTool.PROG + ": Unknown file format '" + fmt + "'");
            return 1;
        }
        if (!fmt.equals("raw") && !fmt.equals("qcow2")) {
            err.println(ImgTool.PROG + ": Format driver '" + fmt + "' does not support image creation");
            return 1;
        }
        String backing = a.get("B");
        if (backing != null && !f.supportsBacking()) {
            err.println(ImgTool.PROG + ": Backing file not supported for file format '" + fmt + "'");
            return 1;
        }
        if (backing != null && !a.has("F")) {
            err.println(ImgTool.PROG + ": Use of backing file requires explicit backing format");
            return 1;
        }
        boolean compress = a.has("c");
        if (compress && backing != null) {
            err.println(ImgTool.PROG + ": -c with -B (a compressed overlay) is not supported by Strata; convert without -c");
            return 1;
        }
        // of the formats Strata creates only qcow2 stores compressed clusters (-n: asked of the open node)
        if (compress && !a.has("n") && !fmt.equals("qcow2")) {
            err.println(ImgTool.PROG + ": Compression not supported for this file format");
            return 1;
        }
        try (OpenedImage src = OpenedImage.open(in, a.get("f"), false, a.has("U"), BlockOptions.empty())) {
            long size = src.node.size();
            if (!a.has("n")) {
                BlockOptions o = a.has("o") ? BlockOptions.parse(a.get("o"), null) : BlockOptions.empty();
                if (compress && !"off".equals(o.get("preallocation", "off"))) {
                    err.println(ImgTool.PROG + ": Compression and preallocation not supported at the same time");
                    return 1;
                }
                if (o.has("backing_file")) {
                    err.println(ImgTool.PROG + ": Backing files for the output are given with -B (and -F), not -o backing_file");
                    return 1;
                }
                if (backing != null) {
                    o = o.with("backing_file", backing).with("backing_fmt", a.get("F"));
                } else if (a.has("F")) {
                    err.println(ImgTool.PROG + ": " + outFile + ": error while converting " + fmt
                            + ": Backing format cannot be used without backing file");
                    return 1;
                }
                try {
                    f.create(Path.of(outFile), size, o);
                } catch (BlockException e) {
                    err.println(ImgTool.PROG + ": " + outFile + ": error while converting " + fmt + ": " + e.getMessage());
                    return 1;
                }
            }
            try (OpenedImage dst = OpenedImage.open(outFile, fmt, true, false, BlockOptions.empty())) {
                if (dst.node.size() < size) {
                    err.println(ImgTool.PROG + ": output file is smaller than input file");
                    return 1;
                }
                PrintStream progress = a.has("p") && !a.has("q") ? out : null;
                if (backing != null && !compress) {
                    copyTopLayer(src.node, dst.node, size, progress);
                    dst.node.flush();
                } else if (!compress) {
                    copy(src.node, dst.node, size, a.has("n"), progress);
                    dst.node.flush();
                } else if (!dst.node.supportsCompressedWrites()) {
                    err.println(ImgTool.PROG + ": Compression not supported for this file format");
                    return 1;
                } else {
                    CompressedCopy.copy(src.node, dst.node, size, a.has("n"), progress);
                    dst.node.flush();
                    CompressedCopy.padToSector(dst.node);
                }
            }
        }
        return 0;
    }

    /**
     * {@code -B}: copies only the ranges {@code src}'s own layer allocates (read through its chain,
     * since a partly written cluster shows the rest of the chain); one that reads as zeros is
     * written as zeros, because in an overlay "not written" means "whatever the backing file has".
     */
    static void copyTopLayer(BlockNode src, BlockNode dst, long size, PrintStream progress) {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        Progress p = new Progress(progress, size);
        long pos = 0;
        while (pos < size) {
            int len = (int) Math.min(CHUNK, size - pos);
            Chains.Allocation al = Chains.isAllocatedAbove(src, src.backing(), pos, len);
            int n = (int) Math.min(len, al.bytes());
            if (al.allocated()) {
                buf.clear().limit(n);
                src.read(pos, buf);
                buf.flip();
                if (Buffers.isZero(buf)) {
                    dst.writeZeroes(pos, n, false);
                } else {
                    dst.write(pos, buf);
                }
            }
            pos += n;
            p.at(pos);
        }
        p.end();
    }

    /** qemu-img's {@code -p} line: {@code (NN.00/100%)} redrawn with a carriage return. */
    private static final class Progress {
        private final PrintStream out;
        private final long size;
        private int lastPercent = -1;

        Progress(PrintStream out, long size) {
            this.out = out;
            this.size = size;
        }

        void at(long pos) {
            if (out != null && size > 0) {
                int pct = (int) (pos * 100 / size);
                if (pct != lastPercent) {
                    out.printf("    (%d.00/100%%)\r", pct);
                    lastPercent = pct;
                }
            }
        }

        void end() {
            if (out != null) {
                out.println();
            }
        }
    }

    /** Copies allocated, non-zero ranges; with {@code overwrite} (-n) zero ranges are written as zeros too. */
    static void copy(BlockNode src, BlockNode dst, long size, boolean overwrite, PrintStream progress) {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        Progress p = new Progress(progress, size);
        long pos = 0;
        while (pos < size) {
            int len = (int) Math.min(CHUNK, size - pos);
            Chains.Allocation al = Chains.isAllocatedAbove(src, null, pos, len);
            int n = (int) Math.min(len, al.bytes());
            if (al.allocated()) {
                buf.clear().limit(n);
                src.read(pos, buf);
                buf.flip();
                if (!Buffers.isZero(buf)) {
                    dst.write(pos, buf);
                } else if (overwrite) {
                    dst.writeZeroes(pos, n, false);
                }
            } else if (overwrite) {
                dst.writeZeroes(pos, n, false);
            }
            pos += n;
            p.at(pos);
        }
        p.end();
    }
}
