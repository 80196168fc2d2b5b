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

    /** HMP on a unix socket. */
    static boolean hmpSocket() {
        return false;
    }
}
