package dev.strata.jobs.stream;

import dev.strata.blockdrv.error.OnError;


/**
 * The arguments of QMP {@code block-stream} (HMP {@code block_stream} fills the same record).
 * Null means "not given"; {@code jobId} null defaults to the device's drive id.
 */
public record StreamRequest(String jobId, String device, String base, String baseNode, String backingFile,
                            String bottom, long speed, OnError onError, boolean autoFinalize, boolean autoDismiss) {

    /** The common case: stream {@code device} down to {@code base} (a filename, or null for the whole chain). */
    public static StreamRequest of(String jobId, String device, String base, long speed) {
        return new StreamRequest(jobId, device, base, null, null, null, speed, OnError.REPORT, true, true);
    }
}
