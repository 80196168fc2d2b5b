package dev.strata.harness.torture;

/**
 * What a torture trial does to the machine before the kill.
 */
public enum Scenario {
    /** Guest I/O only. */
    NONE,
    /** block-stream of the whole chain into the top (rate-limited), killed at a random moment. */
    STREAM,
    /** block-commit of mid into base (rate-limited), killed at a random moment. */
    COMMIT,
    /** drive-mirror to a new image (rate-limited), killed at a random moment. */
    MIRROR,
    /** drive-backup to a new image (rate-limited), killed at a random moment. */
    BACKUP,
    /** blockdev-snapshot-sync, killed a random few milliseconds after it was sent. */
    SNAPSHOT,
    /** block-stream at full speed, killed as soon as the copy is done: inside the backing-pointer rewrite. */
    STREAM_END,
    /** block-commit at full speed, killed as soon as the copy is done: inside the backing-pointer rewrite. */
    COMMIT_END;

    /** The lower-case name with dashes used on command lines and in tables. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** Parses {@link #label()} (or the enum name). */
    public static Scenario parse(String s) {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    }
}
