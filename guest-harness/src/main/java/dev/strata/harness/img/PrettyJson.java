package dev.strata.harness.img;

import java.util.List;
import java.util.Map;

/**
 * Writes JSON the way qemu-img pretty-prints it: four-space indentation, {@code "key": value},
 * nested objects and arrays on their own lines. Values are maps (key order kept), lists,
 * strings, numbers and booleans. Stateless.
 *
 * <p>Not {@code dev.strata.monitor.Json}: that one builds Jackson nodes for QMP replies, whose
 * members QMP's writer reorders into QEMU's hash order; qemu-img prints its own layout in the order
 * the tool built it, and the image tool stays free of Jackson (a monitor-only dependency).
 */
final class PrettyJson {

    private PrettyJson() {
    }

    static String pretty(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, int indent) {
        if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                pad(sb, indent + 1);
                sb.append(string(e.getKey().toString())).append(": ");
                write(sb, e.getValue(), indent + 1);
                sb.append(++i < m.size() ? ",\n" : "\n");
            }
            pad(sb, indent);
            sb.append('}');
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append("[\n");
            for (int i = 0; i < l.size(); i++) {
                pad(sb, indent + 1);
                write(sb, l.get(i), indent + 1);
                sb.append(i + 1 < l.size() ? ",\n" : "\n");
            }
            pad(sb, indent);
            sb.append(']');
        } else if (v instanceof String s) {
            sb.append(string(s));
        } else {
            sb.append(v);
        }
    }

    private static void pad(StringBuilder sb, int indent) {
        sb.append("    ".repeat(indent));
    }

    /** A JSON string literal with the escapes JSON requires. */
    static String string(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
