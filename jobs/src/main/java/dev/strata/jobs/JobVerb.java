package dev.strata.jobs;

import java.util.Locale;

/** QEMU's {@code JobVerb}: the user commands a job may or may not accept in a given state. */
public enum JobVerb {
    CANCEL, PAUSE, RESUME, SET_SPEED, COMPLETE, DISMISS, FINALIZE;

    /** The QAPI name used in error messages, e.g. {@code set-speed}. */
    public String qapiName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
