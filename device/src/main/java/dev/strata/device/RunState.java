package dev.strata.device;

/**
 * The machine's run state, named as QEMU's {@code query-status} reports it ({@code status}) and
 * {@code info status} prints it ({@code VM status: running}, {@code VM status: paused (io-error)}).
 */
public enum RunState {
    /** vCPUs run. */
    RUNNING("running"),
    /** Stopped by the user ({@code stop}). */
    PAUSED("paused"),
    /** Stopped because a device hit an I/O error under {@code rerror/werror=stop|enospc}. */
    IO_ERROR("io-error"),
    /** Started with {@code -S}: not yet running; {@code cont} starts it. */
    PRELAUNCH("prelaunch"),
    /** The machine quit: nothing waits for it to run again. */
    SHUTDOWN("shutdown");

    private final String qapiName;

    RunState(String qapiName) {
        this.qapiName = qapiName;
    }

    /** The QAPI {@code RunState} string, e.g. {@code io-error}. */
    public String qapiName() {
        return qapiName;
    }

    /** The state QAPI names {@code qapiName} ({@code query-status}'s {@code status}). */
    public static RunState ofQapiName(String qapiName) {
        for (RunState s : values()) {
            if (s.qapiName.equals(qapiName)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown run state '" + qapiName + "'");
    }

    /** Whether the vCPUs run ({@code query-status}'s {@code running}). */
    public boolean running() {
        return this == RUNNING;
    }

    /** The {@code info status} line, e.g. {@code VM status: paused (io-error)}. */
    public String hmpStatusLine() {
        return switch (this) {
            case RUNNING -> "VM status: running";
            case PAUSED -> "VM status: paused";
            default -> "VM status: paused (" + qapiName + ")";
        };
    }
}
