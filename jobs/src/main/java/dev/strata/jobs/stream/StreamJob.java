package dev.strata.jobs.stream;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.Chains;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.CopyJob;
import dev.strata.jobs.CopyPipeline;
import dev.strata.jobs.JobType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Live streaming (QEMU's {@code block/stream.c}): copies into {@code target} everything the
 * layers between it and {@code base} hold, then points the target's backing at {@code base} and
 * drops the layers in between from the graph (their files stay on disk).
 *
 * <p>Copies are serialising copy-on-read requests ({@link BlockNode#copyOnRead}), so a copy never
 * overwrites a newer guest write; several run at once through a {@link CopyPipeline}. Only
 * allocated ranges are copied: cost follows data, not virtual size. Progress {@code len} is the
 * virtual size (0 when there is nothing to stream), as QEMU reports it.
 *
 * <p>Threads: {@link #run()} on the job thread; fields are final or confined to the job thread.
 */
public final class StreamJob extends CopyJob {

    /** Largest chunk one copy request moves. */
    static final int MAX_CHUNK = Integer.getInteger("strata.stream.chunk", 1 << 20);
    /** Smallest chunk, used for low speed limits so progress stays smooth. */
    static final int MIN_CHUNK = 64 << 10;
    /** Copies in flight at once. */
    static final int DEPTH = Integer.getInteger("strata.stream.depth", 8);

    private final BlockGraph graph;
    private final BlockNode target;
    private final BlockNode base;
    private final String backingFileString;
    private final boolean wasReadOnly;
    private final List<BlockNode> nodes;

    StreamJob(String id, BlockGraph graph, BlockNode target, BlockNode base, String backingFileString,
              OnError onError, boolean autoFinalize, boolean autoDismiss, boolean wasReadOnly) {
        // a copy-on-read request's failure is a read failure
        super(id, JobType.STREAM, autoFinalize, autoDismiss, onError, onError, Redo.RETRY_OR_SKIP);
        this.graph = graph;
        this.target = target;
        this.base = base;
        this.backingFileString = backingFileString;
        this.wasReadOnly = wasReadOnly;
        this.nodes = List.copyOf(Chains.above(target, base));
        // known before the command returns, so the first query already shows it
        setLen(target.backing() == null || target.backing() == base ? 0 : target.size());
    }

    public BlockNode target() {
        return target;
    }

    /** The new backing node, or null when streaming the whole chain. */
    public BlockNode base() {
        return base;
    }

    @Override
    protected List<BlockNode> nodes() {
        return nodes;
    }

    @Override
    protected void run() {
        if (target.backing() == null || target.backing() == base) {
            return;  // nothing to stream: QEMU completes at once with len 0
        }
        long len = len();
        startPipeline(new CopyPipeline(DEPTH, target::copyOnRead, this::addProgress)).writeBackEarly(target);
        copyUpTo(len, offset -> {
            BlockStatus own = target.blockStatus(offset, len - offset);
            if (own.state().allocated()) {
                addProgress(own.length());   // newer data already in the target
                return own.end();
            }
            Chains.Allocation a = Chains.isAllocatedAbove(target.backing(), base, offset, own.length());
            if (!a.allocated()) {
                addProgress(a.bytes());
                return offset + a.bytes();
            }
            long limit = Math.min(len, offset + chunkFor(MIN_CHUNK, MAX_CHUNK));
            int n = (int) (allocatedRunEnd(offset, offset + a.bytes(), limit) - offset);
            copy(offset, n);
            return offset + n;
        });
    }

    /**
     * Extends a run that needs copying over the following ranges that need it too (allocated
     * above the base, whatever the layer, and not in the target), up to {@code limit}: one copy
     * request, and one cluster allocation in the target, per run instead of per extent.
     */
    private long allocatedRunEnd(long start, long end, long limit) {
        while (end < limit) {
            BlockStatus own = target.blockStatus(end, limit - end);
            if (own.state().allocated()) {
                break;
            }
            Chains.Allocation next = Chains.isAllocatedAbove(target.backing(), base, end, own.length());
            if (!next.allocated()) {
                break;
            }
            end += next.bytes();
        }
        return Math.min(end, limit);
    }

    @Override
    protected void prepare() {
        BlockNode oldBacking = target.backing();
        if (oldBacking == null || oldBacking == base) {
            return;
        }
        List<BlockNode> dropped = new ArrayList<>();
        for (BlockNode n = oldBacking; n != null && n != base; n = n.backing()) {
            dropped.add(n);
        }
        // as in commit: write the target's metadata back while the guest still runs, so the
        // drained header rewrite (which syncs the file) has little left to do
        target.flush();
        try (BlockNode.Drained d = target.drain()) {
            if (base == null) {
                target.changeBackingFile(null, null);
            } else {
                String name = backingFileString != null ? backingFileString
                        : Path.of(base.filename()).toAbsolutePath().normalize().toString();
                target.changeBackingFile(name, base.formatName());
            }
            target.replaceBacking(base);
        }
        graph.closeUnreferenced(dropped);
    }

    @Override
    protected void clean() {
        hideFilter();
        if (wasReadOnly) {
            try (BlockNode.Drained d = target.drain()) {
                target.setReadOnly(true);
            }
        }
    }
}
