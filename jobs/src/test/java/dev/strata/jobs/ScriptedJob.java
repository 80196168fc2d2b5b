package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.OnError;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A job whose body is driven by the test: each step waits for a permit ({@link #step}), passes a
 * pause point and adds 1 to progress. Optionally goes READY after the last step and waits for
 * complete / cancel like a mirror, or fails at a given step.
 */
final class ScriptedJob extends Job {

    private final Semaphore permits = new Semaphore(0);
    private final int steps;
    private final boolean mirrorLike;
    private final List<BlockNode> nodes;
    volatile int failAtStep = -1;
    volatile BlockException.Kind failKind = BlockException.Kind.IO;
    volatile OnError onError = OnError.REPORT;
    volatile boolean prepared;
    volatile boolean aborted;
    volatile boolean cleaned;
    volatile boolean completedWithPivot;

    ScriptedJob(String id, int steps, boolean mirrorLike, boolean autoFinalize, boolean autoDismiss, List<BlockNode> nodes) {
        super(id, mirrorLike ? JobType.MIRROR : JobType.STREAM, autoFinalize, autoDismiss);
        this.steps = steps;
        this.mirrorLike = mirrorLike;
        this.nodes = nodes;
    }

    void step(int n) {
        permits.release(n);
    }

    @Override
    protected void run() {
        setLen(steps);
        for (int i = 0; i < steps; ) {
            pausePoint();
            if (mirrorLike ? cancelRequested() : isCancelled()) {
                return;
            }
            try {
                if (!permits.tryAcquire(20, TimeUnit.MILLISECONDS)) {
                    continue;
                }
            } catch (InterruptedException e) {
                return;
            }
            if (i == failAtStep) {
                ErrorAction a = reportError(onError, new BlockException(failKind, "injected"), IoOperation.WRITE);
                if (a == ErrorAction.REPORT) {
                    throw new BlockException(failKind, "injected");
                }
                if (a == ErrorAction.STOP) {
                    failAtStep = -1;
                    continue;  // retried after resume
                }
            }
            addProgress(1);
            i++;
        }
        if (mirrorLike) {
            transitionToReady();
            while (!completeRequested() && !cancelRequested()) {
                sleep(TimeUnit.MILLISECONDS.toNanos(20));
            }
            completedWithPivot = completeRequested() && !cancelRequested();
        }
    }

    @Override
    protected List<BlockNode> nodes() {
        return nodes;
    }

    @Override
    protected void prepare() {
        prepared = true;
    }

    @Override
    protected void abort() {
        aborted = true;
    }

    @Override
    protected void clean() {
        cleaned = true;
    }

    @Override
    protected boolean supportsComplete() {
        return mirrorLike;
    }

    @Override
    protected boolean cancelIsForced(boolean force) {
        return !mirrorLike || force || status() != JobStatus.READY && status() != JobStatus.STANDBY;
    }
}
