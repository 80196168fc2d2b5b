package dev.strata.monitor.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Writes JSON exactly as QEMU's {@code qobject_to_json} does: {@code ", "} and {@code ": "}
 * separators; every character outside printable ASCII escaped ({@code \n}-style where JSON has
 * a short escape, else {@code \\uXXXX} with upper-case hex); and object members in QEMU's
 * {@code QDict} order. That order is not insertion order: QDict iterates its 512 hash buckets in
 * order (tdb hash of the key), and within a bucket the newest key first. Reproducing the hash
 * makes replies such as {@code {"auto-finalize": true, "io-status": "ok", "device": ...}} come out
 * byte for byte, provided the object was built in the QAPI schema's member order.
 *
 * <p>Stateless; any thread.
 */
public final class QmpJson {

    private static final int BUCKETS = 512;
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private QmpJson() {
    }

    /** The serialised form, without line end. */
    public static String write(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        write(node, sb);
        return sb.toString();
    }

    /** QEMU's {@code tdb_hash} bucket of a key: QDict's iteration order. */
    static int bucket(String key) {
        byte[] b = key.getBytes(StandardCharsets.UTF_8);
        int value = 0x238F13AF * b.length;
        for (int i = 0; i < b.length; i++) {
            value = value + ((b[i] & 0xff) << (i * 5 % 24));
        }
        long h = (1103515243L * (value & 0xffffffffL) + 12345L) & 0xffffffffL;
        return (int) (h % BUCKETS);
    }

    /** The member names of {@code object} in the order QEMU iterates (and prints) them. */
    public static List<String> keyOrder(JsonNode object) {
        List<String> keys = new ArrayList<>();
        Iterator<String> it = object.fieldNames();
        while (it.hasNext()) {
            keys.add(it.next());
        }
        // stable sort by bucket over the reversed insertion order = newest first within a bucket
        List<String> ordered = new ArrayList<>(keys.reversed());
        ordered.sort((x, y) -> Integer.compare(bucket(x), bucket(y)));
        return ordered;
    }

    private static void write(JsonNode n, StringBuilder sb) {
        switch (n.getNodeType()) {
            case OBJECT -> {
                sb.append('{');
                boolean first = true;
                for (String k : keyOrder(n)) {
                    if (!first) {
                        sb.append(", ");
                    }
                    first = false;
                    string(k, sb);
                    sb.append(": ");
                    write(n.get(k), sb);
                }
                sb.append('}');
            }
            case ARRAY -> {
                sb.append('[');
                boolean first = true;
                for (JsonNode e : n) {
                    if (!first) {
                        sb.append(", ");
                    }
                    first = false;
                    write(e, sb);
                }
                sb.append(']');
            }
            case STRING -> string(n.asText(), sb);
            case BOOLEAN -> sb.append(n.asBoolean() ? "true" : "false");
            case NULL, MISSING -> sb.append("null");
            case NUMBER -> {
                if (n.isIntegralNumber()) {
                    sb.append(n.bigIntegerValue());
                } else {
                    // QEMU prints doubles with %.17g and trims; Java's shortest repr reads back equal
                    double d = n.asDouble();
                    sb.append(d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e17 ? String.valueOf((long) d) : String.valueOf(d));
                }
            }
            default -> sb.append(n.toString());
        }
    }

    private static void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c >= 0x20 && c <= 0x7e) {
                        sb.append(c);
                    } else {
                        // UTF-16 units map 1:1 onto QEMU's \\u escapes, surrogate pairs included
                        sb.append("\\u").append(HEX[(c >> 12) & 0xf]).append(HEX[(c >> 8) & 0xf])
                                .append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
                    }
                }
            }
        }
        sb.append('"');
    }
}
