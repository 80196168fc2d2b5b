package dev.strata.jobs.mirror;

import dev.strata.jobs.OnError;

/**
 * A mirror to start: {@code target} is an open node (drive-mirror opens or creates it first,
 * blockdev-mirror names it); {@code sync} is {@code full}, {@code top} or {@code none}.
 */
public record MirrorRequest(String jobId, String device, String target, String sync, long speed, long granularity,
                            OnError onSourceError, OnError onTargetError, boolean autoFinalize, boolean autoDismiss) {
}
