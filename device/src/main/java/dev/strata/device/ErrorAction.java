package dev.strata.device;

/** What a device did about a failed request: QAPI {@code BlockErrorAction}, the event's {@code action}. */
public enum ErrorAction {
    IGNORE("ignore"),
    REPORT("report"),
    STOP("stop");

    private final String qapiName;

    ErrorAction(String qapiName) {
        this.qapiName = qapiName;
    }

    public String qapiName() {
        return qapiName;
    }
}
