package dev.strata.jobs.stream;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.ImplicitFilter;
import dev.strata.blockdrv.Chains;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobNodes;

/**
 * Starts stream jobs from {@link StreamRequest}s with QEMU's checks, in QEMU's order
 * ({@code qmp_block_stream}), so the monitor's QMP and HMP commands only parse arguments.
 * Stateless; call from a monitor thread.
 */
public final class Stream {

    private Stream() {
    }

    public static StreamJob start(JobManager jobs, BlockGraph graph, StreamRequest r) {
        if (r.base() != null && r.baseNode() != null) {
            throw JobException.generic("'base' and 'base-node' cannot be specified at the same time");
        }
        if (r.base() != null && r.bottom() != null) {
            throw JobException.generic("'base' and 'bottom' cannot be specified at the same time");
        }
        if (r.bottom() != null && r.baseNode() != null) {
            throw JobException.generic("'bottom' and 'base-node' cannot be specified at the same time");
        }
        BlockNode target = lookup(graph, r.device());
        BlockNode base = null;
        if (r.base() != null) {
            base = JobNodes.findBacking(target, r.base());
            if (base == null) {
                throw JobException.generic("Can't find '" + r.base() + "' in the backing chain");
            }
        }
        if (r.baseNode() != null) {
            base = lookupNode(graph, r.baseNode());
            if (!JobNodes.isBelow(target, base)) {
                throw JobException.generic("Node '" + r.baseNode() + "' is not a backing image of '" + r.device() + "'");
            }
        }
        if (r.bottom() != null) {
            BlockNode bottom = lookupNode(graph, r.bottom());
            if (bottom != target && !JobNodes.isBelow(target, bottom)) {
                throw JobException.generic("Node '" + r.bottom() + "' is not in a chain starting from '" + r.device() + "'");
            }
            base = bottom.backing();
        }
        for (BlockNode n = target; n != null && n != base; n = n.backing()) {
            JobNodes.checkNotBusy(graph, n);
        }
        if (base == null && r.backingFile() != null) {
            throw JobException.generic("backing file specified, but streaming the entire chain");
        }
        String id = r.jobId() != null ? r.jobId() : JobNodes.defaultJobId(graph, target);
        jobs.checkNewId(id);
        boolean wasReadOnly = target.isReadOnly();
        if (wasReadOnly) {
            try (BlockNode.Drained d = target.drain()) {
                target.setReadOnly(false);
            } catch (BlockException e) {
                throw JobException.generic(e.getMessage());
            }
        }
        StreamJob job = new StreamJob(id, graph, target, base, r.backingFile(), r.onError(), r.autoFinalize(),
                r.autoDismiss(), wasReadOnly);
        job.showsFilter(graph, ImplicitFilter.COPY_ON_READ, target);
        try {
            return jobs.start(job, r.speed());
        } catch (JobException e) {
            if (wasReadOnly) {
                try (BlockNode.Drained d = target.drain()) {
                    target.setReadOnly(true);
                }
            }
            throw e;
        }
    }

    static BlockNode lookup(BlockGraph graph, String deviceOrNode) {
        try {
            return graph.lookup(deviceOrNode);
        } catch (BlockException e) {
            throw JobException.generic(e.getMessage());
        }
    }

    static BlockNode lookupNode(BlockGraph graph, String nodeName) {
        BlockNode n = graph.node(nodeName);
        if (n == null) {
            throw JobException.generic("Cannot find device='' nor node-name='" + nodeName + "'");
        }
        return n;
    }
}
