package dev.strata.jobs.mirror;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.ImplicitFilter;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobNodes;
import dev.strata.jobs.JobType;
import dev.strata.jobs.commit.Commit;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts mirror jobs ({@code drive-mirror} after the target is opened, {@code blockdev-mirror})
 * with QEMU's checks. On complete the drive is switched onto the target; the old top (and any
 * layer nothing else uses) leaves the graph. Stateless; monitor threads.
 */
public final class Mirror {

    private Mirror() {
    }

    /**
     * Checks that {@code device} can be mirrored and returns its root node: QEMU's "Need a root
     * block node" when another node uses it (it is a backing or file child) or while a stream or
     * mirror filter would sit on top, else the busy message. A root node needs no drive.
     */
    public static BlockNode checkSource(BlockGraph graph, String device) {
        BlockNode bs;
        try {
            bs = graph.lookup(device);
        } catch (dev.strata.blockdrv.BlockException e) {
            throw JobException.generic(e.getMessage());
        }
        String why = bs.blocker();
        if (!JobNodes.isRoot(graph, bs) || why != null && (why.endsWith(": stream") || why.endsWith(": mirror"))) {
            throw JobException.generic("Need a root block node");
        }
        JobNodes.checkNotBusy(graph, bs);
        return bs;
    }

    /**
     * QEMU's checks of {@code replaces} ({@code check_to_replace_node}, then the size). QEMU lets
     * a mirror replace a node other than its source only through a filter or a quorum above that
     * node, so that nobody sees the data change abruptly; Strata's graphs have neither above a
     * drive's root, so the one node that passes is the source itself, and completing then
     * switches the drive (the source's only parent) to the target as without {@code replaces}.
     */
    static void checkReplaces(BlockGraph graph, BlockNode source, String replaces) {
        if (replaces == null) {
            return;
        }
        BlockNode node = graph.node(replaces);
        if (node == null) {
            throw JobException.generic("Failed to find node with node-name='" + replaces + "'");
        }
        JobNodes.checkNotBusy(graph, node);
        if (node != source) {
            throw JobException.generic("Cannot replace '" + replaces + "' by a node mirrored from '" + source.nodeName()
                    + "', because it cannot be guaranteed that doing so would not lead to an abrupt change of visible data");
        }
    }

    public static MirrorJob start(JobManager jobs, BlockGraph graph, MirrorRequest r) {
        return start(jobs, graph, r, false);
    }

    /** @param ownsTarget close the target when the job ends without switching the drive to it (drive-mirror opened it) */
    public static MirrorJob start(JobManager jobs, BlockGraph graph, MirrorRequest r, boolean ownsTarget) {
        BlockNode source = checkSource(graph, r.device());
        BlockNode target = graph.node(r.target());
        if (target == null) {
            throw JobException.generic("Cannot find device='" + r.target() + "' nor node-name='" + r.target() + "'");
        }
        long g = r.granularity() == 0 ? 64 << 10 : r.granularity();
        if (g < 512 || g > (64L << 20)) {
            throw JobException.generic("Parameter 'granularity' expects a value in range [512B, 64MB]");
        }
        if (Long.bitCount(g) != 1) {
            throw JobException.generic("Parameter 'granularity' expects a power of 2");
        }
        JobNodes.checkNotBusy(graph, target);
        for (BlockNode n : graph.nodesNewestFirst()) {
            if (n.backing() == target) {
                // QEMU's backing blocker: mirroring into an image someone reads through would change what they see
                throw JobException.generic("Node '" + JobNodes.deviceOrNodeName(graph, target)
                        + "' is busy: node is used as backing hd of '" + JobNodes.deviceOrNodeName(graph, n) + "'");
            }
        }
        checkReplaces(graph, source, r.replaces());
        // QEMU's mirror_start: after the replaces checks, before the buffer size
        if (r.sync().equals("incremental") || r.sync().equals("bitmap")) {
            throw JobException.generic("Sync mode '" + r.sync() + "' not supported");
        }
        if (r.bufSize() < 0) {
            throw JobException.generic("Invalid parameter 'buf-size'");
        }
        if (target == source) {
            throw JobException.generic("Can't mirror node into itself");
        }
        // null for a root node no device uses: QEMU then defaults the job ID to "" (refused) and
        // complete switches no parent over (there is none); the target stays a copy
        BlockBackend backend = JobNodes.backendAttachedTo(graph, source);
        String sync = r.sync();
        if (sync.equals("top") && source.backing() == null) {
            sync = "full";
        }
        String id = r.jobId() != null ? r.jobId() : JobNodes.defaultJobId(graph, source);
        jobs.checkNewId(id);
        String mode = sync;
        MirrorJob.InitialDirt dirt = switch (mode) {
            case "full" -> dirty -> Commit.markAllocatedAbove(source, null, dirty);
            case "top" -> dirty -> Commit.markAllocatedAbove(source, source.backing(), dirty);
            case "none" -> dirty -> { };
            default -> throw JobException.generic("Parameter 'sync' does not accept value '" + mode + "'");
        };
        List<BlockNode> oldChain = new ArrayList<>();
        for (BlockNode n = source; n != null; n = n.backing()) {
            oldChain.add(n);
        }
        MirrorJob.Pivot pivot = new MirrorJob.Pivot() {
            private boolean pivoted;

            @Override
            public void pivot() {
                if (backend == null) {
                    return;
                }
                backend.replaceRoot(target);
                pivoted = true;
                graph.closeUnreferenced(oldChain);
            }

            @Override
            public void clean() {
                if (ownsTarget && !pivoted) {
                    graph.close(target);
                }
            }
        };
        boolean full = mode.equals("full");
        MirrorJob.Settings settings = new MirrorJob.Settings(r.writeBlocking(), r.bufSize(), r.unmap(),
                full && !r.freshTarget(), full && r.freshTarget());
        MirrorJob job = new MirrorJob(id, JobType.MIRROR, backend, source, target, List.of(source, target), (int) g, dirt,
                r.onSourceError(), r.onTargetError(), pivot, r.autoFinalize(), r.autoDismiss(), settings);
        job.showsFilter(graph, ImplicitFilter.MIRROR_TOP, source);
        try {
            return jobs.start(job, r.speed());
        } catch (JobException e) {
            job.abandonUnstarted();
            throw e;
        }
    }
}
