package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.OnError;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.LongUnaryOperator;

/**
 * A job that copies chunks through a {@link CopyPipeline} (stream, commit, mirror, backup): the
 * error loop they share lives here, so a job says only what to copy next. A failed chunk is
 * reported under the policy of its side ({@code on-source-error} for reads, {@code on-target-error}
 * for writes); {@code report} fails the job, {@code stop} pauses it and copies the chunk again
 * after the resume, and {@code ignore} does what the job's {@link Redo} says.
 *
 * <p>Threads: everything here runs on the job thread (the body, and {@link #beforePause} from its
 * pause points); the pipeline's copies run on its own threads and only hand failures back through it.
 */
public abstract class CopyJob extends Job {

    /** What becomes of a failed chunk whose policy did not fail the job. */
    protected enum Redo {
        /**
         * {@code stop}: copied again after the resume; {@code ignore}: counted as done, and the job
         * fails at its end with the first error so ignored (QEMU's stream and commit).
         */
        RETRY_OR_SKIP,
        /** Copied again whatever the policy (QEMU's backup retries an ignored cluster too). */
        RETRY,
        /** Left to the job, which marks it to copy again itself in {@link #failed} (mirror's bitmap). */
        BY_JOB
    }

    private final OnError onRead;
    private final OnError onWrite;
    private final Redo redo;
    private final Deque<CopyPipeline.Failure> retry = new ArrayDeque<>();
    private CopyPipeline pipeline;
    /** The first error an {@code ignore} policy let through (Redo.RETRY_OR_SKIP), thrown at the end. */
    private BlockException ignored;

    protected CopyJob(String id, JobType type, boolean autoFinalize, boolean autoDismiss,
                      OnError onRead, OnError onWrite, Redo redo) {
        super(id, type, autoFinalize, autoDismiss);
        this.onRead = onRead;
        this.onWrite = onWrite;
        this.redo = redo;
    }

    /** Creates the job's pipeline (once, at the start of the body) and returns it. */
    protected final CopyPipeline startPipeline(CopyPipeline pipeline) {
        this.pipeline = pipeline;
        return pipeline;
    }

    protected final CopyPipeline pipeline() {
        return pipeline;
    }

    /** Hands {@code [offset, offset+bytes)} to a copy, then accounts it against the speed limit. */
    protected final void copy(long offset, int bytes) {
        pipeline.submit(offset, bytes);
        rateLimit(bytes);
    }

    /**
     * The loop of a job that walks the disk from 0 to {@code len}: settles failures, copies failed
     * chunks again, and otherwise asks {@code next} to look at the piece at an offset (copy it with
     * {@link #copy} or count it as done) and to answer the offset after it. Ends once everything
     * up to {@code len} is copied and no copy failed, or on cancel; then {@link #finishCopying}.
     */
    protected final void copyUpTo(long len, LongUnaryOperator next) {
        long offset = 0;
        while (!isCancelled()) {
            if (settleFailures() || retryNext()) {
                continue;
            }
            if (offset >= len) {
                if (windowClean()) {
                    break;
                }
                continue;
            }
            pausePoint();
            offset = next.applyAsLong(offset);
        }
        finishCopying();
    }

    /**
     * Applies the error policies to the chunks that failed: once one has failed, waits for the
     * copies in flight so that what they hit is reported too, before any stop takes effect.
     * Throws the error of a chunk whose policy is {@code report}; true when there were failures
     * (the job's loop should look again).
     */
    protected final boolean settleFailures() {
        List<CopyPipeline.Failure> failed = pipeline.drainFailures();
        if (failed.isEmpty()) {
            return false;
        }
        pipeline.awaitIdle();
        failed.addAll(pipeline.drainFailures());
        for (CopyPipeline.Failure f : failed) {
            failed(f);
            OnError policy = f.operation() == IoOperation.READ ? onRead : onWrite;
            ErrorAction action = reportError(policy, f.error(), f.operation());
            if (action == ErrorAction.REPORT) {
                throw f.error();
            }
            if (redo == Redo.RETRY || redo == Redo.RETRY_OR_SKIP && action == ErrorAction.STOP) {
                retry.add(f);
            } else if (redo == Redo.RETRY_OR_SKIP) {
                ignored = ignored != null ? ignored : f.error();
                addProgress(f.bytes());
            }
        }
        return true;
    }

    /** Called for each failed chunk before its policy is applied (mirror marks it dirty again). */
    protected void failed(CopyPipeline.Failure f) {
    }

    /**
     * Copies the oldest failed chunk again, after a pause point (where a {@code stop} takes effect);
     * false when none is waiting.
     */
    protected final boolean retryNext() {
        if (retry.isEmpty()) {
            return false;
        }
        pausePoint();
        if (!isCancelled()) {
            CopyPipeline.Failure f = retry.poll();
            copy(f.offset(), f.bytes());
        }
        return true;
    }

    /** Waits for the copies in flight; whether they all succeeded and none waits to be copied again. */
    protected final boolean windowClean() {
        pipeline.awaitIdle();
        return !pipeline.hasFailures() && retry.isEmpty();
    }

    /** Ends the body: waits for the copies in flight, then fails with the first ignored error (unless cancelled). */
    protected final void finishCopying() {
        pipeline.awaitIdle();
        if (ignored != null && !isCancelled()) {
            throw ignored;
        }
    }

    @Override
    protected void beforePause() {
        // a pause means no copy runs: let those in flight finish first
        CopyPipeline p = pipeline;
        if (p != null) {
            p.awaitIdle();
        }
    }
}
