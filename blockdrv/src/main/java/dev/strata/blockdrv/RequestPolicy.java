package dev.strata.blockdrv;

import java.util.Locale;

/**
 * The generic request options of a node, as QEMU keeps them per node: {@code detect-zeroes}
 * (writes of all-zero data become zero writes; {@code unmap} lets those free clusters),
 * {@code discard} ({@code ignore}: discards and the unmap wish of zero writes are dropped;
 * {@code unmap}: passed to the driver) and {@code copy-on-read} (reads copy what lower layers
 * hold into this node). Immutable.
 *
 * @param detectZeroes what a write of zeros becomes
 * @param unmap        true for {@code discard=unmap}
 * @param copyOnRead   true for {@code copy-on-read=on} on a writable node
 */
public record RequestPolicy(DetectZeroes detectZeroes, boolean unmap, boolean copyOnRead) {

    /** What a node gets without options: QEMU's default for the children it opens itself (discard=unmap). */
    public static final RequestPolicy DEFAULT = new RequestPolicy(DetectZeroes.OFF, true, false);

    /** QEMU's {@code detect-zeroes} values, with the word {@code query-block} and {@code info block} show. */
    public enum DetectZeroes {
        OFF, ON, UNMAP;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Reads the options a node was opened with. {@code discard}: {@code ignore}/{@code off} or
     * {@code unmap}/{@code on} (the last two are the {@code -drive} spellings); absent it is
     * {@code unmap}, the default for nodes QEMU opens below another (callers that open a
     * user's node give {@code discard=ignore} explicitly, as QEMU's default there is ignore).
     */
    static RequestPolicy of(BlockOptions o, boolean readOnly) {
        String dz = o.get("detect-zeroes", "off");
        DetectZeroes detect = switch (dz) {
            case "off" -> DetectZeroes.OFF;
            case "on" -> DetectZeroes.ON;
            case "unmap" -> DetectZeroes.UNMAP;
            default -> throw BlockException.invalid("Parameter 'detect-zeroes' does not accept value '" + dz + "'");
        };
        String d = o.get("discard", "unmap");
        boolean unmap = switch (d) {
            case "unmap", "on" -> true;
            case "ignore", "off" -> false;
            default -> throw BlockException.invalid("Parameter 'discard' does not accept value '" + d + "'");
        };
        // QEMU warns "disabling copy-on-read on read-only drive" and opens it without
        boolean cor = o.getBool("copy-on-read", false) && !readOnly;
        return new RequestPolicy(detect, unmap, cor);
    }
}
