package dev.strata.monitor.block;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.qmp.QmpJson;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Prints {@code info block} from the QMP values, line for line as QEMU 7.2's
 * {@code print_block_info} and {@code bdrv_image_info_dump}: labels padded so values start at
 * column 22, {@code -v} image blocks for the whole chain, sizes as {@code size_to_str}.
 *
 * <p>Stateless; any thread.
 */
final class BlockInfoText {

    private BlockInfoText() {
    }

    /** One device ({@code info != null}) or one node ({@code info == null}). */
    static void print(CommandContext ctx, JsonNode info, JsonNode inserted, boolean verbose) {
        StringBuilder sb = new StringBuilder();
        if (info != null && !info.path("device").asText().isEmpty()) {
            sb.append(info.get("device").asText());
            if (inserted != null && inserted.has("node-name")) {
                sb.append(" (").append(inserted.get("node-name").asText()).append(')');
            }
        } else {
            sb.append(inserted != null && inserted.has("node-name") ? inserted.get("node-name").asText()
                    : info != null && info.has("qdev") ? info.get("qdev").asText() : "<anonymous>");
        }
        if (inserted != null) {
            sb.append(": ").append(inserted.get("file").asText()).append(" (").append(inserted.get("drv").asText())
                    .append(inserted.get("ro").asBoolean() ? ", read-only" : "")
                    .append(inserted.get("encrypted").asBoolean() ? ", encrypted" : "").append(")\n");
        } else {
            sb.append(": [not inserted]\n");
        }
        if (info != null) {
            if (info.has("qdev")) {
                sb.append("    Attached to:      ").append(info.get("qdev").asText()).append('\n');
            }
            String io = info.path("io-status").asText("ok");
            if (info.has("io-status") && !io.equals("ok")) {
                sb.append("    I/O status:       ").append(io).append('\n');
            }
            if (info.path("removable").asBoolean(false)) {
                sb.append("    Removable device: ").append(info.path("locked").asBoolean(false) ? "" : "not ")
                        .append("locked, tray ").append(info.path("tray_open").asBoolean(false) ? "open" : "closed").append('\n');
            }
        }
        if (inserted != null) {
            JsonNode c = inserted.get("cache");
            sb.append("    Cache mode:       ").append(c.get("writeback").asBoolean() ? "writeback" : "writethrough")
                    .append(c.get("direct").asBoolean() ? ", direct" : "")
                    .append(c.get("no-flush").asBoolean() ? ", ignore flushes" : "").append('\n');
            if (inserted.has("backing_file")) {
                sb.append("    Backing file:     ").append(inserted.get("backing_file").asText())
                        .append(" (chain depth: ").append(inserted.get("backing_file_depth").asLong()).append(")\n");
            }
            String detectZeroes = inserted.path("detect_zeroes").asText("off");
            if (!detectZeroes.equals("off")) {
                sb.append("    Detect zeroes:    ").append(detectZeroes).append('\n');
            }
            if (verbose) {
                sb.append("\nImages:\n");
                for (JsonNode image = inserted.get("image"); image != null; image = image.get("backing-image")) {
                    imageDump(image, sb);
                }
            }
        }
        ctx.print(sb.toString());
    }

    /** QEMU's {@code bdrv_image_info_dump}. */
    static void imageDump(JsonNode i, StringBuilder sb) {
        sb.append("image: ").append(i.get("filename").asText()).append('\n');
        sb.append("file format: ").append(i.get("format").asText()).append('\n');
        long vs = i.get("virtual-size").asLong();
        sb.append("virtual size: ").append(sizeToStr(vs)).append(" (").append(vs).append(" bytes)\n");
        sb.append("disk size: ").append(i.has("actual-size") ? sizeToStr(i.get("actual-size").asLong()) : "unavailable").append('\n');
        if (i.has("cluster-size")) {
            sb.append("cluster_size: ").append(i.get("cluster-size").asLong()).append('\n');
        }
        if (i.path("dirty-flag").asBoolean(false)) {
            sb.append("cleanly shut down: no\n");
        }
        if (i.has("backing-filename")) {
            String stored = i.get("backing-filename").asText();
            sb.append("backing file: ").append(stored);
            if (!i.has("full-backing-filename")) {
                sb.append(" (cannot determine actual path)");
            } else if (!stored.equals(i.get("full-backing-filename").asText())) {
                sb.append(" (actual path: ").append(i.get("full-backing-filename").asText()).append(')');
            }
            sb.append('\n');
            if (i.has("backing-filename-format")) {
                sb.append("backing file format: ").append(i.get("backing-filename-format").asText()).append('\n');
            }
        }
        if (i.has("format-specific")) {
            sb.append("Format specific information:\n");
            dumpObject(i.get("format-specific").get("data"), 1, sb);
        }
    }

    /** QEMU's {@code dump_qdict}: members in QDict order, dashes shown as spaces, 4 spaces per level. */
    private static void dumpObject(JsonNode o, int indent, StringBuilder sb) {
        for (String k : QmpJson.keyOrder(o)) {
            JsonNode v = o.get(k);
            sb.append("    ".repeat(indent)).append(k.replace('-', ' ')).append(':');
            if (v.isObject()) {
                sb.append('\n');
                dumpObject(v, indent + 1, sb);
            } else {
                sb.append(' ').append(v.asText()).append('\n');
            }
        }
    }

    /** QEMU's {@code size_to_str}: three significant digits, switching unit at 1000 of the smaller one. */
    static String sizeToStr(long val) {
        String[] suffixes = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        double scaled = val / (1000.0 / 1024.0);
        int exp = scaled == 0 ? 0 : Math.getExponent(scaled) + 1; // frexp's exponent
        int i = Math.max(0, (exp - 1) / 10);
        double v = (double) val / (1L << (i * 10));
        String num = v == 0 ? "0" : new BigDecimal(v).round(new MathContext(3, RoundingMode.HALF_EVEN)).stripTrailingZeros().toPlainString();
        return num + " " + suffixes[i] + "B";
    }
}
