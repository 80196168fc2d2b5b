package dev.strata.jobs;

import java.util.Locale;

/**
 * QEMU's {@code JobStatus}: the states of the job state machine, in QEMU's enum order (the
 * tables in {@link JobTables} are indexed by {@link #ordinal()}).
 */
public enum JobStatus {
    UNDEFINED, CREATED, RUNNING, PAUSED, READY, STANDBY, WAITING, PENDING, ABORTING, CONCLUDED, NULL;

    /** The QAPI name, e.g. {@code running}, as events and queries print it. */
    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
