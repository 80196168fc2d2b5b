package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import java.util.Locale;

/**
 * QEMU's {@code BlockdevOnError} for jobs: {@code report} fails the job, {@code ignore} carries
 * on, {@code stop} pauses the job (user-visible pause), {@code enospc} and {@code auto} stop on
 * ENOSPC and report anything else.
 */
public enum OnError {
    REPORT, IGNORE, ENOSPC, STOP, AUTO;

    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses the QAPI name; fails with QEMU's message for anything else. */
    public static OnError parse(String value, String parameter) {
        for (OnError e : values()) {
            if (e.qapiName().equals(value)) {
                return e;
            }
        }
        throw JobException.generic("Parameter '" + parameter + "' does not accept value '" + value + "'");
    }

    /** The action for one failed request. */
    public ErrorAction actionFor(BlockException failure) {
        boolean nospace = failure.kind() == BlockException.Kind.NO_SPACE;
        return switch (this) {
            case REPORT -> ErrorAction.REPORT;
            case IGNORE -> ErrorAction.IGNORE;
            case STOP -> ErrorAction.STOP;
            case ENOSPC, AUTO -> nospace ? ErrorAction.STOP : ErrorAction.REPORT;
        };
    }
}
