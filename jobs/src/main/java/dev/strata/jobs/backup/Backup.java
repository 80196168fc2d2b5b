package dev.strata.jobs.backup;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.ImplicitFilter;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.bitmap.NodeDirtyBitmap;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobNodes;

/**
 * Starts backup jobs: checks, then the job, then — with the source drained — the point in time
 * ({@link BackupJob#arm}). Stateless; monitor threads.
 */
public final class Backup {

    private Backup() {
    }

    /** The node {@code device} names (drive or node name), or QEMU's {@code Cannot find ...}. */
    public static BlockNode lookupSource(BlockGraph graph, String device) {
        try {
            return graph.lookup(device);
        } catch (dev.strata.blockdrv.BlockException e) {
            throw JobException.generic(e.getMessage());
        }
    }

    /** Checks that {@code device} may be backed up and returns its node (busy message otherwise). */
    public static BlockNode checkSource(BlockGraph graph, String device) {
        BlockNode bs = lookupSource(graph, device);
        JobNodes.checkNotBusy(graph, bs);
        return bs;
    }

    /**
     * @param onClean run when the job ends (drive-backup closes the target it opened)
     */
    public static BackupJob start(JobManager jobs, BlockGraph graph, String jobId, String device, BlockNode target,
                                  String sync, long speed, OnError onSourceError, OnError onTargetError,
                                  boolean autoFinalize, boolean autoDismiss, Runnable onClean) {
        return start(jobs, graph, jobId, device, target, sync, speed, onSourceError, onTargetError, autoFinalize,
                autoDismiss, onClean, null, false, false);
    }

    /**
     * With a bitmap ({@code sync} incremental or bitmap): only the pieces it recorded are copied;
     * on success the bitmap keeps only writes since the start, unless {@code keepOnSuccess}
     * (bitmap-mode never); on failure it gets them back. {@code compress}: data clusters are
     * stored compressed (the target must support it).
     */
    public static BackupJob start(JobManager jobs, BlockGraph graph, String jobId, String device, BlockNode target,
                                  String sync, long speed, OnError onSourceError, OnError onTargetError,
                                  boolean autoFinalize, boolean autoDismiss, Runnable onClean,
                                  NodeDirtyBitmap bitmap, boolean keepOnSuccess, boolean compress) {
        // QEMU's backup_job_create order: same node, compression, then the blockers
        BlockNode source = lookupSource(graph, device);
        if (source == target) {
            throw JobException.generic("Source and target cannot be the same");
        }
        if (compress) {
            CompressedCopy.check(target, BackupJob.CLUSTER);
        }
        JobNodes.checkNotBusy(graph, source);
        JobNodes.checkNotBusy(graph, target);
        boolean withBitmap = bitmap != null && (sync.equals("incremental") || sync.equals("bitmap"));
        if (!withBitmap && !sync.equals("full") && !sync.equals("top") && !sync.equals("none")) {
            throw JobException.generic("Parameter 'sync' does not accept value '" + sync + "'");
        }
        String id = jobId != null ? jobId : JobNodes.defaultJobId(graph, source);
        jobs.checkNewId(id);
        BackupJob job = new BackupJob(id, source, target, sync, onSourceError, onTargetError, onClean, autoFinalize,
                autoDismiss);
        if (withBitmap) {
            job.useBitmap(bitmap, keepOnSuccess);
        }
        if (compress) {
            job.compressData();
        }
        job.showsFilter(graph, ImplicitFilter.COPY_BEFORE_WRITE, source);
        jobs.start(job, speed);
        try (BlockNode.Drained d = source.drain()) {
            job.arm();
        }
        return job;
    }
}
