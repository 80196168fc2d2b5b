package dev.strata.monitor;

/** What an HMP argument names, so the console can complete it with tab. */
public enum CompletionKind {
    /** Nothing to complete. */
    NONE,
    /** A drive id ({@code virtio0}) or a node name: HMP's {@code B} arguments. */
    DEVICE,
    /** A node name only. */
    NODE,
    /** A job id ({@code block_job_*} commands name jobs, though their argument is called device). */
    JOB,
    /** A host file path. */
    FILE
}
