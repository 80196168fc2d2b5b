package dev.strata.jobs.commit;

import dev.strata.blockdrv.error.OnError;


/** The arguments of QMP {@code block-commit}; null means "not given". */
public record CommitRequest(String jobId, String device, String baseNode, String base, String topNode, String top,
                            String backingFile, long speed, OnError onError, boolean autoFinalize, boolean autoDismiss) {

    public static CommitRequest of(String device, String base, String top) {
        return new CommitRequest(null, device, null, base, null, top, null, 0, OnError.REPORT, true, true);
    }
}
