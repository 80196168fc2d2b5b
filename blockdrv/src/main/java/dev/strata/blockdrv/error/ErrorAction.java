package dev.strata.blockdrv.error;

import java.util.Locale;

/**
 * QEMU's {@code BlockErrorAction}: what a device or a job did about one failed request, the
 * {@code action} of BLOCK_IO_ERROR and BLOCK_JOB_ERROR. Immutable; any thread.
 */
public enum ErrorAction {
    IGNORE, REPORT, STOP;

    /** The QAPI spelling, e.g. {@code stop}. */
    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
