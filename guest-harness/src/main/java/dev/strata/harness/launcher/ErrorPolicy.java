package dev.strata.harness.launcher;

/** {@code rerror=} / {@code werror=}: what the device does when the block layer fails a request. */
public enum ErrorPolicy {
    REPORT("report"),
    IGNORE("ignore"),
    STOP("stop"),
    /** Stop on "no space left", report anything else; only valid for writes, as in QEMU. */
    ENOSPC("enospc");

    private final String word;

    ErrorPolicy(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }

    static ErrorPolicy parse(String word, boolean write, String option) {
        for (ErrorPolicy p : values()) {
            if (p.word.equals(word) && (write || p != ENOSPC)) {
                return p;
            }
        }
        throw new UsageException(option, "'" + word + "' invalid " + (write ? "write" : "read") + " error action");
    }
}
