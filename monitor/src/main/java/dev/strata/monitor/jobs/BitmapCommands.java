package dev.strata.monitor.jobs;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.jobs.bitmap.NodeBitmaps;
import dev.strata.jobs.bitmap.NodeDirtyBitmap;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.Param;

/**
 * QMP {@code block-dirty-bitmap-add}, {@code -remove}, {@code -clear}, {@code -enable},
 * {@code -disable}: in-memory dirty bitmaps on a node, for incremental backup (push mode through
 * a backup job, pull mode through an NBD export of a disabled bitmap). {@code persistent} bitmaps
 * are refused with a clear error (Strata keeps no bitmaps in image files). Monitor threads.
 */
final class BitmapCommands {

    static final int DEFAULT_GRANULARITY = 64 << 10;

    private BitmapCommands() {
    }

    static void register(CommandRegistry r) {
        r.register(Command.qmp("block-dirty-bitmap-add")
                .params(Param.str("node"), Param.str("name"), Param.optInt("granularity"), Param.optBool("persistent"),
                        Param.optBool("disabled"))
                .help("create a dirty bitmap recording the writes to a node")
                .handler((ctx, a) -> {
                    add(ctx.machine().graph(), a);
                    return null;
                })
                .build());
        r.register(Command.qmp("block-dirty-bitmap-remove")
                .params(Param.str("node"), Param.str("name"))
                .help("delete a dirty bitmap")
                .handler((ctx, a) -> {
                    NodeBitmaps.remove(usable(ctx.machine().graph(), a.str("node"), a.str("name")));
                    return null;
                })
                .build());
        r.register(Command.qmp("block-dirty-bitmap-enable")
                .params(Param.str("node"), Param.str("name"))
                .help("start recording writes in a dirty bitmap again")
                .handler((ctx, a) -> {
                    usable(ctx.machine().graph(), a.str("node"), a.str("name")).setEnabled(true);
                    return null;
                })
                .build());
        r.register(Command.qmp("block-dirty-bitmap-disable")
                .params(Param.str("node"), Param.str("name"))
                .help("stop recording writes in a dirty bitmap (it keeps what it has)")
                .handler((ctx, a) -> {
                    usable(ctx.machine().graph(), a.str("node"), a.str("name")).setEnabled(false);
                    return null;
                })
                .build());
        r.register(Command.qmp("block-dirty-bitmap-clear")
                .params(Param.str("node"), Param.str("name"))
                .help("forget the writes a dirty bitmap recorded")
                .handler((ctx, a) -> {
                    usable(ctx.machine().graph(), a.str("node"), a.str("name")).clear();
                    return null;
                })
                .build());
    }

    static NodeDirtyBitmap add(BlockGraph g, Args a) {
        String name = a.str("name");
        if (name.isEmpty()) {
            throw CommandException.generic("Bitmap name cannot be empty");
        }
        BlockNode node = node(g, a.str("node"));
        if (node == null) {
            throw CommandException.generic("Cannot find device='" + a.str("node") + "' nor node-name='" + a.str("node") + "'");
        }
        long gran = a.integer("granularity", DEFAULT_GRANULARITY);
        if (a.has("granularity") && (gran < 512 || gran > (1L << 30) || Long.bitCount(gran) != 1)) {
            throw CommandException.generic("Granularity must be power of 2 and at least 512");
        }
        if (a.bool("persistent", false)) {
            throw CommandException.generic("Persistent dirty bitmaps are not supported by Strata (bitmaps live in memory only)");
        }
        NodeDirtyBitmap b = NodeBitmaps.add(node, name, (int) gran);
        if (b == null) {
            throw CommandException.generic("Bitmap already exists: " + name);
        }
        if (a.bool("disabled", false)) {
            b.setEnabled(false);
        }
        return b;
    }

    /** QEMU's {@code block_dirty_bitmap_lookup} plus the in-use check. */
    static NodeDirtyBitmap usable(BlockGraph g, String nodeName, String name) {
        BlockNode node = node(g, nodeName);
        if (node == null) {
            throw CommandException.generic("Node '" + nodeName + "' not found");
        }
        NodeDirtyBitmap b = NodeBitmaps.find(node, name);
        if (b == null) {
            throw CommandException.generic("Dirty bitmap '" + name + "' not found");
        }
        if (b.isBusy()) {
            throw CommandException.generic("Bitmap '" + name + "' is currently in use by another operation and cannot be used");
        }
        return b;
    }

    /** A device name means its root node, else a node name (QEMU's {@code bdrv_lookup_bs}). */
    static BlockNode node(BlockGraph g, String name) {
        BlockBackend b = g.backend(name);
        if (b != null) {
            return b.root();
        }
        return g.node(name);
    }
}
