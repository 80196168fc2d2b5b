package dev.strata.harness.launcher;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QEMU's option value syntax: {@code key=value,key=value}, where {@code ,,} stands for a literal
 * comma and the first part may be a bare word that belongs to an implied key (the file of
 * {@code -drive disk.img}, the backend of {@code -monitor stdio}).
 *
 * <p>Pure functions; any thread.
 */
final class OptionText {

    private OptionText() {
    }

    /** Splits on single commas; {@code ,,} becomes one literal comma inside a part. */
    static List<String> split(String text) {
        List<String> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ',') {
                if (i + 1 < text.length() && text.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                } else {
                    parts.add(cur.toString());
                    cur.setLength(0);
                }
            } else {
                cur.append(c);
            }
        }
        parts.add(cur.toString());
        return parts;
    }

    /**
     * Parses {@code text} into ordered key/value pairs.
     *
     * @param implicitKey key for a leading bare word, or null when bare words are not allowed
     * @param flags       keys that may appear bare meaning {@code on} (QEMU's {@code server},
     *                    {@code nowait} style); may be empty
     * @param option      the option as typed, for error messages
     * @param repeatable  when false a key given twice is an error (keyval style, -blockdev);
     *                    when true the last one wins (QemuOpts style, -drive)
     */
    static Map<String, String> parse(String text, String implicitKey, List<String> flags, String option, boolean repeatable) {
        Map<String, String> map = new LinkedHashMap<>();
        List<String> parts = split(text);
        for (int i = 0; i < parts.size(); i++) {
            String part = parts.get(i);
            int eq = part.indexOf('=');
            String key;
            String value;
            if (eq < 0) {
                if (i == 0 && implicitKey != null) {
                    key = implicitKey;
                    value = part;
                } else if (flags.contains(part)) {
                    key = part;
                    value = "on";
                } else if (part.startsWith("no") && flags.contains(part.substring(2))) {
                    key = part.substring(2);
                    value = "off";
                } else if (part.isEmpty()) {
                    if (i == parts.size() - 1 && i > 0) {
                        continue; // QEMU tolerates one trailing comma
                    }
                    throw new UsageException(option, "Invalid parameter ''");
                } else {
                    throw new UsageException(option, "Expected '=' after parameter '" + part + "'");
                }
            } else {
                key = part.substring(0, eq);
                value = part.substring(eq + 1);
                if (key.isEmpty()) {
                    throw new UsageException(option, "Invalid parameter ''");
                }
            }
            if (!repeatable && map.containsKey(key)) {
                throw new UsageException(option, "Parameter '" + key + "' is set more than once");
            }
            map.put(key, value);
        }
        return map;
    }

    /** QEMU booleans: on/off, plus the yes/no and true/false spellings it also accepts. */
    static boolean bool(String value, String key, String option) {
        return switch (value) {
            case "on", "yes", "true" -> true;
            case "off", "no", "false" -> false;
            default -> throw new UsageException(option, "Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** A non-negative decimal integer option value. */
    static long number(String value, String key, String option, long min, long max) {
        try {
            long v = Long.parseLong(value);
            if (v < min || v > max) {
                throw new UsageException(option, "Parameter '" + key + "' expects a value between " + min + " and " + max);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException(option, "Parameter '" + key + "' expects a number");
        }
    }
}
