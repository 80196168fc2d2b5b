package dev.strata.blockdrv.error;

import java.util.Locale;

/**
 * QEMU's {@code BlockDeviceIoStatus}: a device's status after a request stopped the machine
 * (cleared by {@code cont}; {@code info block} prints it only when not OK), and a job's
 * {@code io-status}. Immutable; any thread.
 */
public enum IoStatus {
    OK, FAILED, NOSPACE;

    /** The QAPI spelling, e.g. {@code nospace}. */
    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
