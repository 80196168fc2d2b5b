package dev.strata.jobs;

/**
 * The common data of BLOCK_JOB_COMPLETED / _CANCELLED / _READY: {@code type}, {@code device}
 * (the job ID), {@code len}, {@code offset}, {@code speed}.
 */
public record BlockJobEvent(JobType type, String device, long len, long offset, long speed) {
}
