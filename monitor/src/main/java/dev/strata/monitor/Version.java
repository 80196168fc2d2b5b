package dev.strata.monitor;

/**
 * The version Strata reports to monitor clients: QEMU's numbers of the interface it reproduces
 * (so version checks in scripts pass) and Strata's own name and version as the package string.
 */
public final class Version {

    public static final int MAJOR = 7;
    public static final int MINOR = 2;
    public static final int MICRO = 22;
    /** Strata's own version, as {@code strata --version} and {@code strata nbd --version} print it. */
    public static final String STRATA = "0.1.0";
    public static final String PACKAGE = "Strata " + STRATA;

    private Version() {
    }

    /** {@code 7.2.22}. */
    public static String qemu() {
        return MAJOR + "." + MINOR + "." + MICRO;
    }
}
