package dev.strata.device;

/**
 * The direction of a failed request as QAPI {@code IoOperationType} names it. Flush, discard and
 * write-zeroes count as writes (they fall under {@code werror}), as in QEMU.
 */
public enum IoOperation {
    READ("read"),
    WRITE("write");

    private final String qapiName;

    IoOperation(String qapiName) {
        this.qapiName = qapiName;
    }

    public String qapiName() {
        return qapiName;
    }
}
