package dev.strata.harness.launcher;

/**
 * A command line Strata cannot run: the one clean failure of the launcher. It prints as exactly
 * one line in QEMU's style, {@code strata: <option as typed>: <what is wrong>}, and the process
 * exits with status 1.
 *
 * <p>Immutable; any thread.
 */
public final class UsageException extends RuntimeException {

    private final String option;

    /**
     * @param option the option as the user typed it, e.g. {@code -drive file=x,if=bogus}, or
     *               null when the problem is not tied to one option
     */
    public UsageException(String option, String message) {
        super(message);
        this.option = option;
    }

    public String option() {
        return option;
    }

    /** The single line printed on stderr. */
    public String line() {
        return option == null ? "strata: " + getMessage() : "strata: " + option + ": " + getMessage();
    }
}
