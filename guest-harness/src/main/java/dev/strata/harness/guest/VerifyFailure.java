package dev.strata.harness.guest;

/**
 * One sector that did not hold what the guest's shadow map allows.
 *
 * @param drive  drive id
 * @param lba    the 512-byte sector number on the disk
 * @param kind   what went wrong
 * @param detail what was expected and what was found, for a person
 */
public record VerifyFailure(String drive, long lba, Kind kind, String detail) {

    /** The ways a sector can be wrong. */
    public enum Kind {
        /** An acknowledged write vanished: the sector shows the content it had before the guest wrote it. */
        LOST,
        /** The sector's stamp does not match its own data: part of a write landed, part did not. */
        TORN,
        /** The sector holds a write the guest made to a different sector. */
        MISPLACED,
        /** The sector holds an older write of its own that a later acknowledged write replaced. */
        STALE,
        /** The sector holds something the guest never wrote there and the disk did not hold at start. */
        CORRUPT
    }

    @Override
    public String toString() {
        return "VERIFY FAILURE " + drive + " lba " + lba + " (byte " + (lba * 512) + "): "
                + kind.name().toLowerCase(java.util.Locale.ROOT) + ": " + detail;
    }
}
