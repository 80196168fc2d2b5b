package dev.strata.jobs;

import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;

/**
 * Receives job events in QEMU's order. Calls are made while the job manager's lock is held (that
 * is what keeps the order), so an implementation must be quick, must not block on I/O for long
 * and must not call back into {@link JobManager}; the monitor queues the JSON and returns.
 */
public interface JobEventListener {

    /** JOB_STATUS_CHANGE {@code {"status", "id"}}. */
    default void jobStatusChange(String id, JobStatus status) {
    }

    /** BLOCK_JOB_COMPLETED; {@code error} is null on success, else the human-readable failure. */
    default void blockJobCompleted(BlockJobEvent info, String error) {
    }

    /** BLOCK_JOB_CANCELLED (only for a real, forced or pre-READY, cancellation). */
    default void blockJobCancelled(BlockJobEvent info) {
    }

    /** BLOCK_JOB_READY (mirror and active commit). */
    default void blockJobReady(BlockJobEvent info) {
    }

    /** BLOCK_JOB_PENDING {@code {"type", "id"}}, only with {@code auto-finalize=false}. */
    default void blockJobPending(JobType type, String id) {
    }

    /** BLOCK_JOB_ERROR {@code {"device", "operation", "action"}}, one per failed request. */
    default void blockJobError(String id, IoOperation operation, ErrorAction action) {
    }
}
