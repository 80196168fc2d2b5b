package dev.strata.harness.img;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An image opened for one command: its own graph with the node (and its backing chain), closed
 * together. Not thread safe; owned by the command that opened it.
 */
final class OpenedImage implements AutoCloseable {

    final BlockGraph graph;
    final BlockNode node;
    final String name;

    private OpenedImage(BlockGraph graph, BlockNode node, String name) {
        this.graph = graph;
        this.node = node;
        this.name = name;
    }

    /**
     * Opens {@code file} like qemu-img: format probed unless {@code fmt} is given, read-only
     * unless {@code writable}, {@code force-share} for {@code -U}.
     */
    static OpenedImage open(String file, String fmt, boolean writable, boolean forceShare, BlockOptions extra) {
        BlockOptions o = BlockOptions.empty().with("file", file).with("read-only", writable ? "off" : "on");
        if (fmt != null) {
            o = o.with("driver", fmt);
        }
        if (forceShare) {
            o = o.with("force-share", "on");
        }
        for (String k : extra.keys()) {
            o = o.with(k, extra.get(k));
        }
        BlockGraph g = new BlockGraph();
        try {
            return new OpenedImage(g, g.open(o), file);
        } catch (RuntimeException e) {
            g.closeAll();
            throw e;
        }
    }

    @Override
    public void close() {
        graph.closeAll();
    }

    /** Bytes the host file really occupies (allocated blocks), as {@code disk size}; the length if unknown. */
    static long diskUsage(String file) {
        Path p = Path.of(file);
        try {
            Process proc = new ProcessBuilder("stat", "-L", "-c", "%b %B", p.toString()).redirectErrorStream(true).start();
            String s = new String(proc.getInputStream().readAllBytes()).trim();
            if (proc.waitFor(10, TimeUnit.SECONDS) && proc.exitValue() == 0) {
                String[] f = s.split(" ");
                return Long.parseLong(f[0]) * Long.parseLong(f[1]);
            }
        } catch (IOException | NumberFormatException | InterruptedException | ArrayIndexOutOfBoundsException e) {
            // fall back to the length below
        }
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }
}
