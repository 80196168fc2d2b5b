package dev.strata.blockdrv.error;

import dev.strata.blockdrv.BlockException;
import java.util.Locale;

/**
 * QEMU's {@code BlockdevOnError}: what to do when the block layer fails a request. Devices take
 * it from {@code -drive rerror=/werror=}, jobs from {@code on-error}, {@code on-source-error} and
 * {@code on-target-error}. The two uses accept different values, so each has its own parser:
 * {@link #parseDriveOption} (QEMU's {@code parse_block_error_action}: no {@code auto}, and
 * {@code enospc} for writes only) and {@link #parse} (the whole QAPI enum, as job commands take it).
 * Immutable; any thread.
 */
public enum OnError {
    /** Fail the request (a device completes it with an error status; a job fails). */
    REPORT,
    /** Pretend it worked: a device completes with success, a job carries on. */
    IGNORE,
    /** Stop on ENOSPC (a full host disk), report anything else. */
    ENOSPC,
    /** Stop the machine (a device) or pause the job (user-visible); retry on resume. */
    STOP,
    /** Jobs: as {@link #ENOSPC}. Not accepted on the {@code -drive} command line. */
    AUTO;

    /** QEMU's default for {@code -drive rerror=}. */
    public static final OnError DEFAULT_RERROR = REPORT;
    /** QEMU's default for {@code -drive werror=}. */
    public static final OnError DEFAULT_WERROR = ENOSPC;

    /** The QAPI spelling, as written on the command line or in QMP, e.g. {@code enospc}. */
    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a QMP argument {@code parameter} that takes any {@code BlockdevOnError}; fails with
     * QEMU's message ({@code Parameter 'on-error' does not accept value 'x'}).
     */
    public static OnError parse(String value, String parameter) {
        OnError e = byQapiName(value);
        if (e == null) {
            throw BlockException.invalid("Parameter '" + parameter + "' does not accept value '" + value + "'");
        }
        return e;
    }

    /**
     * Parses a {@code -drive rerror=}/{@code werror=} value as QEMU's {@code -drive} does:
     * {@code auto} is refused and {@code enospc} is a write-only policy. Fails with QEMU's message,
     * {@code 'x' invalid read error action} / {@code 'x' invalid write error action}.
     */
    public static OnError parseDriveOption(String value, boolean forRead) {
        OnError e = byQapiName(value);
        if (e == null || e == AUTO || (forRead && e == ENOSPC)) {
            throw BlockException.invalid("'" + value + "' invalid " + (forRead ? "read" : "write") + " error action");
        }
        return e;
    }

    private static OnError byQapiName(String value) {
        for (OnError e : values()) {
            if (e.qapiName().equals(value)) {
                return e;
            }
        }
        return null;
    }

    /** The action this policy takes for a failure of {@code kind} (QEMU's {@code blk_get_error_action}). */
    public ErrorAction actionFor(BlockException.Kind kind) {
        return switch (this) {
            case REPORT -> ErrorAction.REPORT;
            case IGNORE -> ErrorAction.IGNORE;
            case STOP -> ErrorAction.STOP;
            case ENOSPC, AUTO -> kind == BlockException.Kind.NO_SPACE ? ErrorAction.STOP : ErrorAction.REPORT;
        };
    }
}
