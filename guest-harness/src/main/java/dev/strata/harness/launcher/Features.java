package dev.strata.harness.launcher;

/**
 * Which parts of the machine this build has. The launcher is built ahead of some of them; where a
 * part is missing, the option that needs it fails with a clear message instead of pretending.
 *
 * <p>Constant answers; any thread.
 */
final class Features {

    private Features() {
    }

    /** The HMP monitor on stdio (the interpreter from the monitor module, a line console here). */
    static boolean hmpStdio() {
        return true;
    }

    /** HMP on a unix socket. */
    static boolean hmpSocket() {
        return false;
    }

    /** The synthetic guest with disk devices (device module + guest). */
    static boolean guest() {
        return false;
    }
}
