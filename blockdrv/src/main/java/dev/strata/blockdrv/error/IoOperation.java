package dev.strata.blockdrv.error;

import java.util.Locale;

/**
 * QEMU's {@code IoOperationType}: the direction of a failed request, the {@code operation} of
 * BLOCK_IO_ERROR and BLOCK_JOB_ERROR. Flush, discard and write-zeroes count as writes (a device
 * applies {@code werror} to them), as in QEMU. Immutable; any thread.
 */
public enum IoOperation {
    READ, WRITE;

    /** The QAPI spelling, e.g. {@code read}. */
    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
