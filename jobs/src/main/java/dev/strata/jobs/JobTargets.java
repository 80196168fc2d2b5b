package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.NodeCache;
import java.nio.file.Path;

/**
 * Creating and opening the target image of {@code drive-mirror} / {@code drive-backup}, as QEMU
 * does: mode {@code absolute-paths} creates (or silently re-creates) the file, with the given
 * backing node's file as its backing file; mode {@code existing} opens what is there. The opened
 * node is attached to {@code backing} (an already open node) rather than opening the chain again.
 * Stateless; monitor threads.
 */
public final class JobTargets {

    private JobTargets() {
    }

    /**
     * @param backing the node the target's backing file names (null: none)
     * @param existing mode {@code existing}
     */
    public static BlockNode createAndOpen(BlockGraph graph, String file, String format, long size, BlockNode backing,
                                          boolean existing) {
        return createAndOpen(graph, file, format, size, backing, existing, null, NodeCache.DEFAULT);
    }

    /**
     * As above, naming the new node {@code nodeName} (drive-mirror's {@code node-name}) when not
     * null, and opening it (and its file) with {@code cache}'s options: QEMU opens the target with
     * the source's flags, so a mirror of a {@code cache=none} drive writes with O_DIRECT too.
     */
    public static BlockNode createAndOpen(BlockGraph graph, String file, String format, long size, BlockNode backing,
                                          boolean existing, String nodeName, NodeCache cache) {
        DriverRegistry drivers = graph.drivers();
        drivers.require(format);   // Unknown file format 'x'
        Path wanted = Path.of(file).toAbsolutePath().normalize();
        for (BlockNode n : graph.nodesNewestFirst()) {
            String f = n.filename();
            if (f != null && !f.isEmpty() && Path.of(f).toAbsolutePath().normalize().equals(wanted)) {
                // never re-create an image this machine has open (QEMU's image lock says the same)
                throw new BlockException(BlockException.Kind.BUSY, "Failed to get \"write\" lock\n"
                        + "Is another process using the image [" + file + "]?");
            }
        }
        if (!existing) {
            BlockOptions create = BlockOptions.empty();
            if (backing != null) {
                if (!drivers.require(format).supportsBacking()) {
                    throw BlockException.invalid("Backing file not supported for file format '" + format + "'");
                }
                create = create.with("backing_file", Path.of(backing.filename()).toAbsolutePath().normalize().toString())
                        .with("backing_fmt", backing.formatName());
            }
            drivers.require(format).create(Path.of(file), size, create);
        }
        BlockOptions open = cache.applyTo(BlockOptions.empty().with("driver", format).with("file", file)
                .with("backing", backing != null ? backing.nodeName() : ""));
        if (existing && backing == null) {
            open = open.without("backing");
        }
        if (nodeName != null) {
            open = open.with("node-name", nodeName);
        }
        return graph.open(open);
    }
}
