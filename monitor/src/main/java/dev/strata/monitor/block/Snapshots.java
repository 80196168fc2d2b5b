package dev.strata.monitor.block;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.RequestPolicy;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.Args;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Machine;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code blockdev-snapshot-sync}: an external snapshot, in QEMU's order of checks. The node is
 * drained (guest I/O through its backend stops, jobs on it pause), checked for blockers, flushed;
 * the overlay is created with the old image as its absolute backing file (unless
 * {@code mode=existing}), opened on top of the old node, and the backend (or the parent that used
 * the old node) is switched to it while still drained; the old node becomes read-only.
 *
 * <p>Runs on the calling monitor thread; graph edits happen only inside the drained section.
 */
final class Snapshots {

    private Snapshots() {
    }

    static void snapshotSync(Machine m, Args a) {
        BlockGraph g = m.graph();
        String device = a.str("device", null);
        String nodeName = a.str("node-name", null);
        String file = a.str("snapshot-file");
        String format = a.str("format", "qcow2");
        String snapNodeName = a.str("snapshot-node-name", null);
        boolean existing = a.str("mode", "absolute-paths").equals("existing");

        BlockNode old = lookup(g, device, nodeName);
        BlockBackend backend = null;
        for (BlockBackend b : g.backends()) {
            if (b.root() == old) {
                backend = b;
            }
        }
        BlockNode parent = null;
        if (backend == null) {
            for (BlockNode n : g.nodesNewestFirst()) {
                if (n.backing() == old) {
                    parent = n;
                }
            }
        }
        BlockNode.Drained guest = backend != null ? backend.drain() : () -> { };
        try (guest; BlockNode.Drained oldDrained = old.drain(); BlockNode.Drained parentDrained = parent != null ? parent.drain() : () -> { }) {
            String why = old.blocker() != null ? old.blocker() : BlockQueries.skipImplicit(old).blocker();
            if (why != null) {
                String shown = backend != null ? backend.name() : old.nodeName();
                throw CommandException.generic("Node '" + shown + "' is busy: " + why);
            }
            if (!old.isReadOnly()) {
                try {
                    old.flush();
                } catch (BlockException e) {
                    throw CommandException.generic("Input/output error");
                }
            }
            if (nodeName != null && snapNodeName == null) {
                throw CommandException.generic("New overlay node-name missing");
            }
            if (snapNodeName != null && g.lookupOrNull(snapNodeName) != null) {
                throw CommandException.generic("New overlay node-name already in use");
            }
            Path path = Path.of(file);
            if (!existing) {
                BlockDriverFactory f = DriverRegistry.standard().require(format);
                refuseIfOpen(g, path, file);
                String backingFile = Path.of(old.filename()).toAbsolutePath().normalize().toString();
                f.create(path, old.size(), BlockOptions.empty()
                        .with("backing_file", backingFile).with("backing_fmt", old.formatName()));
            } else if (!Files.exists(path)) {
                throw CommandException.generic("Could not open '" + file + "': No such file or directory");
            }
            BlockOptions o = BlockOptions.empty().with("file", file).with("driver", format).with("backing", old.nodeName());
            if (snapNodeName != null) {
                o = o.with("node-name", snapNodeName);
            }
            BlockNode overlay = g.open(o);
            // QEMU opens the overlay with the old top's flags less copy-on-read: discard carries
            // over, detect-zeroes (an option, not a flag) starts off
            overlay.setPolicy(new RequestPolicy(RequestPolicy.DetectZeroes.OFF, old.policy().unmap(), false));
            if (!DriverRegistry.standard().require(format).supportsBacking()) {
                g.close(overlay);
                throw CommandException.generic("The overlay does not support backing images");
            }
            if (backend != null) {
                backend.replaceRoot(overlay);
            } else if (parent != null) {
                parent.replaceBacking(overlay);
            }
        }
        try {
            old.setReadOnly(true);
        } catch (BlockException e) {
            // the switch is done; a failing reopen only leaves the old image writable, as QEMU ignores it too
        }
    }

    /** QEMU finds the node by device name, else node name; the message names both as given. */
    private static BlockNode lookup(BlockGraph g, String device, String nodeName) {
        if (device != null) {
            BlockBackend b = g.backend(device);
            if (b != null) {
                return b.root();
            }
        }
        if (nodeName != null) {
            BlockNode n = g.node(nodeName);
            if (n != null) {
                return n;
            }
        }
        throw CommandException.generic("Cannot find device='" + (device == null ? "" : device)
                + "' nor node-name='" + (nodeName == null ? "" : nodeName) + "'");
    }

    /** Creating over an image this machine has open would destroy it; QEMU's image lock says no first. */
    private static void refuseIfOpen(BlockGraph g, Path path, String shown) {
        Path want = path.toAbsolutePath().normalize();
        for (BlockNode n : g.nodesNewestFirst()) {
            String f = n.filename();
            if (f == null || f.isEmpty()) {
                continue;
            }
            Path have = Path.of(f).toAbsolutePath().normalize();
            boolean same = have.equals(want);
            if (!same && Files.exists(want) && Files.exists(have)) {
                try {
                    same = Files.isSameFile(have, want);
                } catch (java.io.IOException e) {
                    same = false;
                }
            }
            if (same) {
                throw CommandException.generic("Failed to get \"write\" lock\nIs another process using the image [" + shown + "]?");
            }
        }
    }
}
