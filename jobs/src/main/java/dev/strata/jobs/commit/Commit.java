package dev.strata.jobs.commit;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.ImplicitFilter;
import dev.strata.blockdrv.Chains;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobNodes;
import dev.strata.jobs.JobType;
import dev.strata.jobs.mirror.MirrorJob;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts {@code block-commit} jobs with QEMU's checks in QEMU's order ({@code qmp_block_commit}):
 * an intermediate {@link CommitJob}, or, when top is the active layer, an active commit (a
 * {@link MirrorJob} into the base that goes READY and pivots the drive onto the base on
 * complete). Stateless; monitor threads.
 */
public final class Commit {

    private Commit() {
    }

    public static Job start(JobManager jobs, BlockGraph graph, CommitRequest r) {
        BlockNode bs = graph.lookupOrNull(r.device());
        if (bs == null) {
            throw new JobException(JobException.Kind.DEVICE_NOT_FOUND, "Device '" + r.device() + "' not found");
        }
        if (!JobNodes.isRoot(graph, bs)) {
            // QEMU's qmp_get_root_bs: a node in the middle of a chain is named by the top's device
            throw JobException.generic("Need a root block node");
        }
        JobNodes.checkNotBusy(graph, bs);
        BlockNode top = bs;
        if (r.topNode() != null && r.top() != null) {
            throw JobException.generic("'top-node' and 'top' are mutually exclusive");
        } else if (r.topNode() != null) {
            top = lookupNode(graph, r.topNode());
            if (top != bs && !JobNodes.isBelow(bs, top)) {
                throw JobException.generic("'" + r.topNode() + "' is not in this backing file chain");
            }
        } else if (r.top() != null && !r.top().equals(bs.filename())) {
            top = JobNodes.findBacking(bs, r.top());
        }
        if (top == null) {
            throw JobException.generic("Top image file " + r.top() + " not found");
        }
        BlockNode base;
        if (r.baseNode() != null && r.base() != null) {
            throw JobException.generic("'base-node' and 'base' are mutually exclusive");
        } else if (r.baseNode() != null) {
            base = lookupNode(graph, r.baseNode());
            if (base != top && !JobNodes.isBelow(top, base)) {
                throw JobException.generic("'" + r.baseNode() + "' is not in this backing file chain");
            }
        } else if (r.base() != null) {
            base = JobNodes.findBacking(top, r.base());
            if (base == null) {
                throw JobException.generic("Can't find '" + r.base() + "' in the backing chain");
            }
        } else {
            base = top;
            while (base.backing() != null) {
                base = base.backing();
            }
        }
        for (BlockNode n = top; n != null && n != base; n = n.backing()) {
            JobNodes.checkNotBusy(graph, n);
        }
        if (top == base) {
            throw JobException.generic("cannot commit an image into itself");
        }
        JobNodes.checkNotBusy(graph, base);
        boolean baseWasReadOnly = base.isReadOnly();
        if (top == bs) {
            if (r.backingFile() != null) {
                throw JobException.generic("'backing-file' specified, but 'top' is the active layer");
            }
            return startActive(jobs, graph, r, bs, base, baseWasReadOnly);
        }
        BlockNode overlay = bs;
        while (overlay.backing() != top) {
            overlay = overlay.backing();
        }
        JobNodes.checkNotBusy(graph, overlay);
        String id = r.jobId() != null ? r.jobId() : JobNodes.defaultJobId(graph, bs);
        jobs.checkNewId(id);
        makeWritable(base);
        CommitJob job = new CommitJob(id, graph, overlay, top, base, r.backingFile(), r.onError(), r.autoFinalize(),
                r.autoDismiss(), baseWasReadOnly);
        job.showsFilter(graph, ImplicitFilter.COMMIT_TOP, top);
        try {
            return jobs.start(job, r.speed());
        } catch (JobException e) {
            restoreReadOnly(base, baseWasReadOnly);
            throw e;
        }
    }

    private static Job startActive(JobManager jobs, BlockGraph graph, CommitRequest r, BlockNode top, BlockNode base,
                                   boolean baseWasReadOnly) {
        // null for a root node no device uses: complete then switches no parent over, as in QEMU
        BlockBackend backend = JobNodes.backendAttachedTo(graph, top);
        String id = r.jobId() != null ? r.jobId() : JobNodes.defaultJobId(graph, top);
        jobs.checkNewId(id);
        makeWritable(base);
        List<BlockNode> nodes = new ArrayList<>();
        List<BlockNode> above = new ArrayList<>();
        for (BlockNode n = top; n != base; n = n.backing()) {
            nodes.add(n);
            above.add(n);
        }
        nodes.add(base);
        MirrorJob.Pivot pivot = new MirrorJob.Pivot() {
            private boolean pivoted;

            @Override
            public void pivot() {
                if (backend == null) {
                    return;
                }
                backend.replaceRoot(base);
                pivoted = true;
                graph.closeUnreferenced(above);
            }

            @Override
            public void clean() {
                if (!pivoted) {
                    restoreReadOnly(base, baseWasReadOnly);
                }
            }
        };
        MirrorJob job = new MirrorJob(id, JobType.COMMIT, backend, top, base, nodes, 64 << 10,
                dirty -> markAllocatedAbove(top, base, dirty), r.onError(), r.onError(), pivot,
                r.autoFinalize(), r.autoDismiss());
        job.showsFilter(graph, ImplicitFilter.MIRROR_TOP, top);
        try {
            return jobs.start(job, r.speed());
        } catch (JobException e) {
            job.abandonUnstarted();
            pivot.clean();
            throw e;
        }
    }

    /** Marks dirty what the layers from {@code top} down to (not including) {@code base} hold. */
    public static void markAllocatedAbove(BlockNode top, BlockNode base, MirrorJob.DirtyRanges dirty) {
        long size = top.size();
        long off = 0;
        while (off < size) {
            Chains.Allocation a = Chains.isAllocatedAbove(top, base, off, size - off);
            if (a.allocated()) {
                dirty.dirty(off, a.bytes());
            }
            off += a.bytes();
        }
    }

    private static void makeWritable(BlockNode n) {
        if (n.isReadOnly()) {
            try (BlockNode.Drained d = n.drain()) {
                n.setReadOnly(false);
            } catch (BlockException e) {
                throw JobException.generic(e.getMessage());
            }
        }
    }

    static void restoreReadOnly(BlockNode n, boolean wasReadOnly) {
        if (wasReadOnly && !n.isReadOnly()) {
            try (BlockNode.Drained d = n.drain()) {
                n.setReadOnly(true);
            }
        }
    }

    private static BlockNode lookupNode(BlockGraph graph, String name) {
        BlockNode n = graph.node(name);
        if (n == null) {
            throw JobException.generic("Cannot find device='' nor node-name='" + name + "'");
        }
        return n;
    }

    /** The absolute file name QEMU writes as a backing string. */
    static String absolute(BlockNode n) {
        return Path.of(n.filename()).toAbsolutePath().normalize().toString();
    }
}
