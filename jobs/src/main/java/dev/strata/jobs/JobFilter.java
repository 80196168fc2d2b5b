package dev.strata.jobs;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.ImplicitFilter;

/**
 * The filter node QEMU shows for a running job ({@link ImplicitFilter}), listed in the graph from
 * the job's start until it lets go of its nodes. Display only: no I/O goes through it.
 *
 * <p>{@link #show()} runs under the job manager's lock at start; {@link #hide()} on the job's
 * thread (its clean-up) or under the manager's lock at dismissal; {@code shown} is volatile and
 * {@link BlockGraph#hideFilter} is idempotent, so a second hide does nothing.
 */
final class JobFilter {

    private final BlockGraph graph;
    private final String driver;
    private final BlockNode child;
    private volatile ImplicitFilter shown;

    JobFilter(BlockGraph graph, String driver, BlockNode child) {
        this.graph = graph;
        this.driver = driver;
        this.child = child;
    }

    void show() {
        if (shown == null) {
            shown = graph.showFilter(driver, child);
        }
    }

    void hide() {
        ImplicitFilter f = shown;
        if (f != null) {
            graph.hideFilter(f);
            shown = null;
        }
    }
}
