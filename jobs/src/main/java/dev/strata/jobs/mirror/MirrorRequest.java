package dev.strata.jobs.mirror;

import dev.strata.blockdrv.error.OnError;


/**
 * A mirror to start: {@code target} is an open node (drive-mirror opens or creates it first,
 * blockdev-mirror names it); {@code sync} is {@code full}, {@code top} or {@code none}.
 *
 * @param writeBlocking QEMU's {@code copy-mode: write-blocking}
 * @param replaces      QEMU's {@code replaces} (a node name), or null
 * @param bufSize       QEMU's {@code buf-size} (0: default)
 * @param unmap         QEMU's {@code unmap}: zero ranges may be unmapped on the target
 * @param freshTarget   the caller has just created the target without a backing file, so it reads
 *                      zeros; otherwise ({@code mode: existing}, blockdev-mirror) {@code sync=full}
 *                      zeroes what the source does not hold, as QEMU's {@code zero_target} does
 */
public record MirrorRequest(String jobId, String device, String target, String sync, long speed, long granularity,
                            OnError onSourceError, OnError onTargetError, boolean autoFinalize, boolean autoDismiss,
                            boolean writeBlocking, String replaces, long bufSize, boolean unmap, boolean freshTarget) {

    /** Background mode, no replaces, default buffer, for a target the caller has just created. */
    public MirrorRequest(String jobId, String device, String target, String sync, long speed, long granularity,
                         OnError onSourceError, OnError onTargetError, boolean autoFinalize, boolean autoDismiss) {
        this(jobId, device, target, sync, speed, granularity, onSourceError, onTargetError, autoFinalize, autoDismiss,
                false, null, 0, true, true);
    }
}
