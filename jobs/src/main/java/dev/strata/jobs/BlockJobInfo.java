package dev.strata.jobs;

import dev.strata.blockdrv.error.IoStatus;

/**
 * One entry of {@code query-block-jobs} ({@code BlockJobInfo}); {@code error} is null unless the
 * job failed. The monitor prints the fields in QEMU's key order.
 */
public record BlockJobInfo(JobType type, String device, long len, long offset, boolean busy, boolean paused,
                           long speed, IoStatus ioStatus, boolean ready, JobStatus status, boolean autoFinalize,
                           boolean autoDismiss, String error) {
}
