package dev.strata.jobs;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;

/**
 * What a job holds on the nodes it uses from its start until it lets go of them: QEMU's op
 * blocker ({@code block device is in use by block job: <type>}), the drain listener that pauses
 * the job while a node is drained, and the filter node QEMU would show above them
 * ({@link JobFilter}).
 *
 * <p>Threads: {@link #install} runs under the manager's lock at start, {@link #remove} on the
 * job's thread or under the lock at dismissal; {@code filter} is volatile and set once by the
 * job's starter before the start.
 */
final class JobClaims {

    private final Job job;
    private volatile JobFilter filter;

    JobClaims(Job job) {
        this.job = job;
    }

    void showFilter(BlockGraph graph, String driver, BlockNode child) {
        filter = new JobFilter(graph, driver, child);
    }

    void hideFilter() {
        JobFilter f = filter;
        if (f != null) {
            f.hide();
        }
    }

    void install() {
        for (BlockNode n : job.nodes()) {
            n.setBlocker(job.blockerReason());
            n.addDrainListener(job.pauses.drainListener);
        }
        JobFilter f = filter;
        if (f != null) {
            f.show();
        }
    }

    void remove() {
        hideFilter();
        for (BlockNode n : job.nodes()) {
            if (job.blockerReason().equals(n.blocker())) {
                n.setBlocker(null);
            }
            n.removeDrainListener(job.pauses.drainListener);
        }
    }
}
