package dev.strata.harness.img;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Buffers;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * {@code img compare [-f fmt] [-F fmt] [-s] [-q] [-U] A B}: guest content equality. Exit 0 equal,
 * 1 different, 2 error; a size difference is a warning unless {@code -s}, and the extra part
 * must read as zeros. Stateless.
 */
final class CompareCommand implements ImgTool.Command {

    private static final int CHUNK = 1 << 20;

    @Override
    public int errorExit() {
        return 2;
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        ImgOptions a = new ImgOptions(argv, 0, Set.of("f", "F", "T"), Set.of("s", "q", "U", "p"));
        if (a.positional().size() != 2) {
            err.println(ImgTool.PROG + ": Expecting two image file names");
            return 2;
        }
        boolean quiet = a.has("q");
        String fa = a.get("f");
        String fb = a.get("F", fa);
        try (OpenedImage ia = OpenedImage.open(a.positional().get(0), fa, false, a.has("U"), BlockOptions.empty());
             OpenedImage ib = OpenedImage.open(a.positional().get(1), fb, false, a.has("U"), BlockOptions.empty())) {
            BlockNode na = ia.node;
            BlockNode nb = ib.node;
            long common = Math.min(na.size(), nb.size());
            ByteBuffer ba = ByteBuffer.allocate(CHUNK);
            ByteBuffer bb = ByteBuffer.allocate(CHUNK);
            for (long pos = 0; pos < common; pos += CHUNK) {
                int n = (int) Math.min(CHUNK, common - pos);
                ba.clear().limit(n);
                bb.clear().limit(n);
                na.read(pos, ba);
                nb.read(pos, bb);
                int diff = ba.flip().mismatch(bb.flip());
                if (diff >= 0) {
                    return mismatch(out, quiet, pos + diff);
                }
            }
            if (na.size() != nb.size()) {
                if (a.has("s")) {
                    if (!quiet) {
                        out.println("Strict mode: Image size mismatch!");
                    }
                    return 1;
                }
                if (!quiet) {
                    out.println("Warning: Image size mismatch!");
                }
                BlockNode longer = na.size() > nb.size() ? na : nb;
                for (long pos = common; pos < longer.size(); pos += CHUNK) {
                    int n = (int) Math.min(CHUNK, longer.size() - pos);
                    ba.clear().limit(n);
                    longer.read(pos, ba);
                    ba.flip();
                    if (!Buffers.isZero(ba)) {
                        int i = 0;
                        while (ba.get(i) == 0) {
                            i++;
                        }
                        return mismatch(out, quiet, pos + i);
                    }
                }
            }
            if (!quiet) {
                out.println("Images are identical.");
            }
            return 0;
        }
    }

    private static int mismatch(PrintStream out, boolean quiet, long at) {
        if (!quiet) {
            out.println("Content mismatch at offset " + (at & ~511L) + "!");
        }
        return 1;
    }
}
