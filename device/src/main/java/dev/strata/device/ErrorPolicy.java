package dev.strata.device;

import dev.strata.blockdrv.BlockException;

/**
 * What a device does when the block layer fails a guest request: QEMU's {@code rerror=} and
 * {@code werror=} values ({@code BlockdevOnError} minus {@code auto}). Defaults as QEMU's:
 * {@code rerror=report}, {@code werror=enospc}.
 */
public enum ErrorPolicy {
    /** Complete the request with an error status. */
    REPORT("report"),
    /** Pretend it worked: complete with success. */
    IGNORE("ignore"),
    /** Stop the machine; retry the request on {@code cont}. */
    STOP("stop"),
    /** Stop on ENOSPC (a full host disk), report anything else. Writes only. */
    ENOSPC("enospc");

    /** QEMU's default for {@code rerror}. */
    public static final ErrorPolicy DEFAULT_READ = REPORT;
    /** QEMU's default for {@code werror}. */
    public static final ErrorPolicy DEFAULT_WRITE = ENOSPC;

    private final String optionValue;

    ErrorPolicy(String optionValue) {
        this.optionValue = optionValue;
    }

    /** The option value as written on the command line, e.g. {@code enospc}. */
    public String optionValue() {
        return optionValue;
    }

    /**
     * Parses an {@code rerror=}/{@code werror=} value with QEMU's message on failure:
     * {@code 'x' invalid read error action} / {@code 'x' invalid write error action}
     * ({@code enospc} is a write-only policy).
     */
    public static ErrorPolicy parse(String value, boolean forRead) {
        for (ErrorPolicy p : values()) {
            if (p.optionValue.equals(value) && !(forRead && p == ENOSPC)) {
                return p;
            }
        }
        throw BlockException.invalid("'" + value + "' invalid " + (forRead ? "read" : "write") + " error action");
    }

    /** The action this policy takes for a failure of {@code kind}. */
    public ErrorAction actionFor(BlockException.Kind kind) {
        return switch (this) {
            case REPORT -> ErrorAction.REPORT;
            case IGNORE -> ErrorAction.IGNORE;
            case STOP -> ErrorAction.STOP;
            case ENOSPC -> kind == BlockException.Kind.NO_SPACE ? ErrorAction.STOP : ErrorAction.REPORT;
        };
    }
}
