package dev.strata.jobs.mirror;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.jobs.CopyPipeline;
import dev.strata.jobs.DirtyBitmap;
import dev.strata.jobs.ErrorAction;
import dev.strata.jobs.IoOperation;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobType;
import dev.strata.jobs.OnError;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Mirror and active commit (QEMU's {@code block/mirror.c}): copies what a {@link DirtyBitmap}
 * says is dirty from {@code source} (the drive's root) to {@code target}; a write notifier on the
 * source marks guest writes dirty after they complete. Once nothing is dirty the job goes READY
 * and keeps following writes. On {@code complete} (or a soft cancel after READY) it stops the
 * guest at the drive's door, copies the last dirty pieces, and then — on complete only — lets
 * {@link Pivot} switch the drive over in {@link #prepare()} while the guest is still held.
 *
 * <p>Threads: body on the job thread, copies on virtual threads, the notifier on guest threads;
 * shared state is in the bitmap (own lock) and the framework; {@code held} is job-thread only
 * until the job ends.
 */
public final class MirrorJob extends Job {

    /** What complete does and what the job must undo; supplied by mirror and active commit. */
    public interface Pivot {
        /** Switches the drive over; called with the drive drained and the target in sync. */
        void pivot();

        /** Restores flags and closes what the job opened, whatever the outcome. */
        default void clean() {
        }
    }

    /** Which ranges are dirty at the start. */
    public interface InitialDirt {
        void mark(DirtyBitmap bitmap);
    }

    private static final int CHUNK = 1 << 20;
    private static final int DEPTH = 8;

    private final BlockBackend backend;
    private final BlockNode source;
    private final BlockNode target;
    private final List<BlockNode> nodes;
    private final DirtyBitmap bitmap;
    private final InitialDirt initial;
    private final OnError onSourceError;
    private final OnError onTargetError;
    private final Pivot pivot;
    private final BlockNode.WriteNotifier notifier;
    private volatile boolean ready;
    private BlockNode.Drained held;
    private CopyPipeline pipeline;

    public MirrorJob(String id, JobType type, BlockBackend backend, BlockNode source, BlockNode target, List<BlockNode> nodes,
                     int granularity, InitialDirt initial, OnError onSourceError, OnError onTargetError, Pivot pivot,
                     boolean autoFinalize, boolean autoDismiss) {
        super(id, type, autoFinalize, autoDismiss);
        this.backend = backend;
        this.source = source;
        this.target = target;
        this.nodes = List.copyOf(nodes);
        this.bitmap = new DirtyBitmap(source.size(), granularity);
        this.initial = initial;
        this.onSourceError = onSourceError;
        this.onTargetError = onTargetError;
        this.pivot = pivot;
        this.notifier = new BlockNode.WriteNotifier() {
            @Override
            public void afterWrite(BlockNode node, long offset, long bytes) {
                bitmap.markDirty(offset, bytes);
            }
        };
        // follow guest writes from the moment the command returns
        source.addWriteNotifier(notifier);
    }

    /** Undoes the constructor's hook when the job could not be started. */
    public void abandonUnstarted() {
        source.removeWriteNotifier(notifier);
    }

    public BlockNode target() {
        return target;
    }

    @Override
    protected List<BlockNode> nodes() {
        return nodes;
    }

    @Override
    protected boolean supportsComplete() {
        return true;
    }

    @Override
    protected boolean cancelIsForced(boolean force) {
        // before READY every cancel is a real one; after READY a soft cancel ends without pivot
        return force || !ready;
    }

    @Override
    protected void run() {
        if (target.size() != source.size()) {
            throw BlockException.invalid("Source and target image have different sizes");
        }
        initial.mark(bitmap);
        updateLen();
        pipeline = new CopyPipeline(DEPTH, this::copy, b -> { });
        while (!isCancelled()) {
            if (handleFailures()) {
                continue;
            }
            pausePoint();
            if (isCancelled()) {
                break;
            }
            DirtyBitmap.Run run = held == null ? bitmap.take(chunkFor(bitmap.granularity(), CHUNK)) : bitmap.take(CHUNK);
            if (run != null) {
                pipeline.submit(run.offset(), run.bytes());
                updateLen();
                if (held == null) {
                    rateLimit(run.bytes());
                }
                continue;
            }
            if (!bitmap.isClean()) {
                bitmap.awaitChange(TimeUnit.MILLISECONDS.toNanos(10));
                continue;
            }
            updateLen();
            if (!ready) {
                ready = true;
                transitionToReady();
            }
            if (completeRequested() || cancelRequested()) {
                if (held == null) {
                    // stop the guest at the door, then copy what it wrote since the last look
                    held = backend.drain();
                    continue;
                }
                pipeline.awaitIdle();
                if (bitmap.isClean() && !pipeline.hasFailures()) {
                    source.flush();
                    target.flush();
                    return;
                }
                continue;
            }
            bitmap.awaitChange(TimeUnit.MILLISECONDS.toNanos(20));
        }
        pipeline.awaitIdle();
    }

    private void updateLen() {
        // offset + what is left (exact whenever the bitmap is clean, e.g. at READY)
        setLen(offset() + bitmap.dirtyBytes() + bitmap.inFlightBytes());
    }

    /** Applies the error policies to failed copies; true when the loop should look again. */
    private boolean handleFailures() {
        List<CopyPipeline.Failure> failed = pipeline.drainFailures();
        if (failed.isEmpty()) {
            return false;
        }
        pipeline.awaitIdle();
        failed.addAll(pipeline.drainFailures());
        for (CopyPipeline.Failure f : failed) {
            bitmap.finish(new DirtyBitmap.Run(f.offset(), f.bytes()), true);
            OnError policy = f.operation() == IoOperation.READ ? onSourceError : onTargetError;
            if (reportError(policy, f.error(), f.operation()) == ErrorAction.REPORT) {
                releaseHeld();
                throw f.error();
            }
        }
        releaseHeld();
        return true;
    }

    private void copy(long offset, int bytes) {
        DirtyBitmap.Run run = new DirtyBitmap.Run(offset, bytes);
        CopyPipeline.copyRange(source, target, offset, bytes);
        addProgress(bytes);   // before finish: once the bitmap is clean, offset must already be final
        bitmap.finish(run, false);
    }

    @Override
    protected void beforePause() {
        CopyPipeline p = pipeline;
        if (p != null) {
            p.awaitIdle();
        }
        releaseHeld();
    }

    private void releaseHeld() {
        if (held != null) {
            held.close();
            held = null;
        }
    }

    @Override
    protected void prepare() {
        if (completeRequested() && !cancelRequested()) {
            if (held == null) {
                held = backend.drain();
            }
            pivot.pivot();
        }
    }

    @Override
    protected void clean() {
        source.removeWriteNotifier(notifier);
        releaseHeld();
        pivot.clean();
    }

    /** True once the job has been READY (tests). */
    public boolean wasReady() {
        return ready || status() == JobStatus.READY;
    }
}
