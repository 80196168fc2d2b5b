package dev.strata.jobs;

import java.util.Locale;

/** QEMU's {@code BlockErrorAction}: what a job did about one failed request ({@code action} of BLOCK_JOB_ERROR). */
public enum ErrorAction {
    IGNORE, REPORT, STOP;

    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
