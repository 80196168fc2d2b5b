package dev.strata.jobs;

import java.util.Locale;

/** QEMU's {@code IoOperationType}: the {@code operation} of BLOCK_JOB_ERROR. */
public enum IoOperation {
    READ, WRITE;

    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
