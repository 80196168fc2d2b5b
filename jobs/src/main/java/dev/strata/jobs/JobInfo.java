package dev.strata.jobs;

/** One entry of {@code query-jobs} ({@code JobInfo}); {@code error} is null unless failed or cancelled. */
public record JobInfo(String id, JobType type, JobStatus status, long currentProgress, long totalProgress,
                      String error) {
}
