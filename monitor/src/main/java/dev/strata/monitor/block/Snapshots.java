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
 * {@code blockdev-snapshot-sync} and {@code blockdev-snapshot}: an external snapshot, in QEMU's
 * order of checks. The node is drained (guest I/O through its backend stops, jobs on it pause),
 * checked for blockers (a job, or being another node's backing: QEMU's op blockers), flushed; the
 * overlay is created with the old image as its absolute backing file (unless
 * {@code mode=existing}), opened on top of the old node, and the drive whose root the node is, if
 * any, is switched to it while still drained; the old node becomes read-only.
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
        BlockBackend backend = attachedBackend(g, old);
        BlockNode.Drained guest = backend != null ? backend.drain() : () -> { };
        try (guest; BlockNode.Drained oldDrained = old.drain()) {
            checkNotBusy(g, old, backend);
            flushOld(old);
            if (nodeName != null && snapNodeName == null) {
                throw CommandException.generic("New overlay node-name missing");
            }
            if (snapNodeName != null && g.lookupOrNull(snapNodeName) != null) {
                throw CommandException.generic("New overlay node-name already in use");
            }
            Path path = Path.of(file);
            if (!existing) {
                // QEMU's bdrv_img_create order: the format, whether it takes a backing file, the
                // new name against the backing name (as strings), and only then the file itself
                BlockDriverFactory f = DriverRegistry.standard().require(format);
                if (!f.supportsBacking()) {
                    throw CommandException.generic("Backing file not supported for file format '" + format + "'");
                }
                if (file.equals(old.filename())) {
                    throw CommandException.generic("Error: Trying to create an image with the same filename as the backing file");
                }
                refuseIfOpen(g, path, file);
                String backingFile = Path.of(old.filename()).toAbsolutePath().normalize().toString();
                f.create(path, old.size(), BlockOptions.empty()
                        .with("backing_file", backingFile).with("backing_fmt", old.formatName()));
            } else if (!Files.exists(path)) {
                throw CommandException.generic("Could not open '" + file + "': No such file or directory");
            }
            // the overlay takes the old image's cache options, as QEMU opens it with old_bs's flags
            BlockOptions o = old.cache().applyTo(BlockOptions.empty().with("file", file).with("driver", format)
                    .with("backing", old.nodeName()));
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
            } else {
                // a root node no device uses: QEMU appends the overlay to no parent, and the
                // overlay, referenced by nothing, is dropped again (its file stays, with the old
                // image as backing); the old node is read-only all the same
                g.close(overlay);
            }
        }
        try {
            old.setReadOnly(true);
        } catch (BlockException e) {
            // the switch is done; a failing reopen only leaves the old image writable, as QEMU ignores it too
        }
    }

    /**
     * {@code blockdev-snapshot}: the existing node {@code overlay} (no backing yet, used by
     * nothing) gets {@code node} as its backing node and takes its place under the drive, if
     * any; the image header of the overlay is left as it is, as QEMU does.
     */
    static void snapshot(Machine m, Args a) {
        BlockGraph g = m.graph();
        String nodeArg = a.str("node");
        String overlayArg = a.str("overlay");
        BlockNode old = lookup(g, nodeArg, nodeArg);
        BlockBackend backend = attachedBackend(g, old);
        BlockNode.Drained guest = backend != null ? backend.drain() : () -> { };
        try (guest; BlockNode.Drained oldDrained = old.drain()) {
            checkNotBusy(g, old, backend);
            flushOld(old);
            BlockNode overlay = lookup(g, overlayArg, overlayArg);
            if (overlay.backing() != null) {
                throw CommandException.generic("The overlay already has a backing image");
            }
            if (attachedBackend(g, overlay) != null || !dev.strata.jobs.JobNodes.isRoot(g, overlay)) {
                throw CommandException.generic("The overlay is already in use");
            }
            if (!g.drivers().require(overlay.formatName()).supportsBacking()) {
                throw CommandException.generic("The overlay does not support backing images");
            }
            if (overlay == old) {
                throw CommandException.generic("Making '" + overlay.nodeName() + "' a backing child of '"
                        + overlay.nodeName() + "' would create a cycle");
            }
            try (BlockNode.Drained overlayDrained = overlay.drain()) {
                overlay.replaceBacking(old);
            }
            if (backend != null) {
                backend.replaceRoot(overlay);
            }
        }
        try {
            old.setReadOnly(true);
        } catch (BlockException e) {
            // as for blockdev-snapshot-sync: the switch is done
        }
    }

    /** QEMU's op blocker check on the node to snapshot: a job, or being some node's backing. */
    private static void checkNotBusy(BlockGraph g, BlockNode old, BlockBackend backend) {
        String shown = backend != null ? backend.name() : old.nodeName();
        String why = old.blocker() != null ? old.blocker() : BlockQueries.skipImplicit(old).blocker();
        if (why != null) {
            throw CommandException.generic("Node '" + shown + "' is busy: " + why);
        }
        for (BlockNode n : g.nodesNewestFirst()) {
            if (n.backing() == old) {
                BlockBackend b = attachedBackend(g, n);
                throw CommandException.generic("Node '" + shown + "' is busy: node is used as backing hd of '"
                        + (b != null ? b.name() : n.nodeName()) + "'");
            }
        }
    }

    /** The drive whose root {@code node} is, or null. */
    private static BlockBackend attachedBackend(BlockGraph g, BlockNode node) {
        for (BlockBackend b : g.backends()) {
            if (b.root() == node) {
                return b;
            }
        }
        return null;
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

    /** The image a snapshot puts under a new overlay is flushed first; QEMU reports a failure as EIO. */
    private static void flushOld(BlockNode old) {
        if (!old.isReadOnly()) {
            try {
                old.flush();
            } catch (BlockException e) {
                throw CommandException.generic("Input/output error");
            }
        }
    }
}
