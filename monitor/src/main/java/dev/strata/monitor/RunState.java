package dev.strata.monitor;

/** The machine's run state as QEMU's {@code RunState} spells it in {@code query-status}. */
public enum RunState {
    PRELAUNCH("prelaunch"),
    RUNNING("running"),
    PAUSED("paused"),
    IO_ERROR("io-error"),
    INTERNAL_ERROR("internal-error"),
    SHUTDOWN("shutdown");

    private final String qapiName;

    RunState(String qapiName) {
        this.qapiName = qapiName;
    }

    public String qapiName() {
        return qapiName;
    }

    public boolean running() {
        return this == RUNNING;
    }
}
