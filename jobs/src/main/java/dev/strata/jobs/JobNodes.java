package dev.strata.jobs;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;

/** Naming rules jobs share with QEMU's block layer; stateless. */
public final class JobNodes {

    private JobNodes() {
    }

    /** The backend whose root is exactly {@code node}, or null (QEMU's {@code bdrv_get_device_name}). */
    public static BlockBackend backendAttachedTo(BlockGraph graph, BlockNode node) {
        for (BlockBackend b : graph.backends()) {
            if (b.root() == node) {
                return b;
            }
        }
        return null;
    }

    /** QEMU's {@code bdrv_get_device_or_node_name}: the drive id for a root node, else the node name. */
    public static String deviceOrNodeName(BlockGraph graph, BlockNode node) {
        BlockBackend b = backendAttachedTo(graph, node);
        return b != null ? b.name() : node.nodeName();
    }

    /** The default job ID: the name of the backend whose root the node is, or "" (then refused). */
    public static String defaultJobId(BlockGraph graph, BlockNode node) {
        BlockBackend b = backendAttachedTo(graph, node);
        return b != null ? b.name() : "";
    }

    /**
     * QEMU's {@code bdrv_is_root_node}: no other node uses {@code node} as a child (backing or
     * file); drives may. A {@code -blockdev} node that no device uses is a root node too.
     */
    public static boolean isRoot(BlockGraph graph, BlockNode node) {
        for (BlockNode n : graph.nodesNewestFirst()) {
            if (n != node && (n.backing() == node || n.file() == node)) {
                return false;
            }
        }
        return true;
    }

    /** Fails with {@code Node '<name>' is busy: <reason>} when {@code node} is used by a job. */
    public static void checkNotBusy(BlockGraph graph, BlockNode node) {
        String why = node.blocker();
        if (why != null) {
            throw new JobException(JobException.Kind.BUSY, "Node '" + deviceOrNodeName(graph, node) + "' is busy: " + why);
        }
    }

    /**
     * The image {@code name} names below {@code top} ({@link dev.strata.blockdrv.Chains#findBacking}'s
     * rules), or null; a name that matches two images fails with a message naming both.
     */
    public static BlockNode findBacking(BlockNode top, String name) {
        try {
            return dev.strata.blockdrv.Chains.findBacking(top, name);
        } catch (dev.strata.blockdrv.BlockException e) {
            throw JobException.generic(e.getMessage());
        }
    }

    /** Whether {@code maybeBelow} is in the backing chain strictly below {@code top}. */
    public static boolean isBelow(BlockNode top, BlockNode maybeBelow) {
        for (BlockNode n = top.backing(); n != null; n = n.backing()) {
            if (n == maybeBelow) {
                return true;
            }
        }
        return false;
    }
}
