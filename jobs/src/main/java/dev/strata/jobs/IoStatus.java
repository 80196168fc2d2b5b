package dev.strata.jobs;

import java.util.Locale;

/** QEMU's {@code BlockDeviceIoStatus} as a job reports it in {@code io-status}. */
public enum IoStatus {
    OK, FAILED, NOSPACE;

    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
