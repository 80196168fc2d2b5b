package dev.strata.device;

/**
 * A device's I/O status (QAPI {@code BlockDeviceIoStatus}): set when a request stopped the machine,
 * cleared by {@code cont}. {@code info block} prints it only when not OK.
 */
public enum IoStatus {
    OK("ok"),
    FAILED("failed"),
    NOSPACE("nospace");

    private final String qapiName;

    IoStatus(String qapiName) {
        this.qapiName = qapiName;
    }

    public String qapiName() {
        return qapiName;
    }
}
