package dev.strata.jobs;

import java.util.Locale;

/** The block job types Strata runs (a subset of QEMU's {@code JobType}). */
public enum JobType {
    COMMIT, STREAM, MIRROR, BACKUP;

    /** The QAPI name, e.g. {@code stream}. */
    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
