package dev.strata.harness.bench.jobs;

import java.nio.file.Path;

/**
 * The jobs {@link JobsBench} and {@link JobsLimitBench} time, with the QMP command QEMU gets for
 * each (drive or root node {@code drive0}, job id {@code drive0}).
 */
enum JobKind {
    STREAM("stream"),
    COMMIT_INTERMEDIATE("commit intermediate"),
    COMMIT_ACTIVE("commit active"),
    MIRROR_FULL("mirror full"),
    BACKUP_FULL("backup full");

    private final String label;

    JobKind(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }

    /** The image that holds the job's result: what must read like the pristine chain afterwards. */
    Path result(Path chainDir) {
        return chainDir.resolve(switch (this) {
            case STREAM, COMMIT_INTERMEDIATE -> "L2.qcow2";
            case COMMIT_ACTIVE -> "L0.qcow2";
            case MIRROR_FULL, BACKUP_FULL -> "target.qcow2";
        });
    }

    /** Mirror and active commit go READY and need {@code block-job-complete}. */
    boolean goesReady() {
        return this == COMMIT_ACTIVE || this == MIRROR_FULL;
    }

    String qmpCommand() {
        return switch (this) {
            case STREAM -> "block-stream";
            case COMMIT_INTERMEDIATE, COMMIT_ACTIVE -> "block-commit";
            case MIRROR_FULL -> "drive-mirror";
            case BACKUP_FULL -> "drive-backup";
        };
    }

    /**
     * The inside of the arguments object for a chain in {@code chainDir}. The job id is explicit:
     * QEMU needs one for a job on a {@code -blockdev} node that no device holds.
     */
    String qmpArguments(Path chainDir) {
        return "\"job-id\": \"drive0\", " + switch (this) {
            case STREAM -> "\"device\": \"drive0\"";
            case COMMIT_INTERMEDIATE -> "\"device\": \"drive0\", \"top\": \"" + chainDir.resolve("L1.qcow2")
                    + "\", \"base\": \"" + chainDir.resolve("L0.qcow2") + "\"";
            case COMMIT_ACTIVE -> "\"device\": \"drive0\"";
            case MIRROR_FULL, BACKUP_FULL -> "\"device\": \"drive0\", \"sync\": \"full\", \"format\": \"qcow2\", \"target\": \""
                    + chainDir.resolve("target.qcow2") + "\"";
        };
    }
}
