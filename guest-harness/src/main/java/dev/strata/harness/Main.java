package dev.strata.harness;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.PrintStream;

/** Entry point of {@code bin/strata}. */
public final class Main {

    public static final String VERSION = "0.1.0";

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-version"))) {
            out.println("Strata version " + VERSION + " (QEMU 7.2.22 compatible block layer and monitor)");
            return 0;
        }
        BlockGraph graph = new BlockGraph();
        int drives = 0;
        try {
            for (int i = 0; i < args.length; i++) {
                if (!args[i].equals("-drive") || i + 1 >= args.length) {
                    err.println("strata: option '" + args[i] + "' is not supported yet");
                    return 1;
                }
                BlockOptions o = BlockOptions.parse(args[++i], "file");
                BlockNode root = graph.open(o.without("id").without("if"));
                BlockBackend b = graph.createBackend(o.get("id", "virtio" + drives++), root, BlockBackend.CacheMode.WRITEBACK);
                out.println(b.name() + " (" + root.nodeName() + "): " + root.filename() + " (" + root.formatName() + ")");
                if (root.backing() != null) {
                    out.println("    Backing file:     " + root.backing().filename() + " (chain depth: " + root.chainDepth() + ")");
                }
            }
            return 0;
        } catch (BlockException e) {
            err.println("strata: " + e.getMessage());
            return 1;
        } finally {
            graph.closeAll();
        }
    }
}
