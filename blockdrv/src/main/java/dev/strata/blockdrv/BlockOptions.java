package dev.strata.blockdrv;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Options for opening a node, as QEMU's flat dotted keys: {@code file=a.qcow2},
 * {@code format=qcow2}, {@code node-name=n1}, {@code backing.file.filename=...},
 * {@code read-only=on}. Immutable once built; keys keep their order for messages.
 */
public final class BlockOptions {

    private final Map<String, String> values;

    private BlockOptions(Map<String, String> values) {
        this.values = values;
    }

    public static BlockOptions of(Map<String, String> map) {
        return new BlockOptions(new LinkedHashMap<>(map));
    }

    public static BlockOptions empty() {
        return new BlockOptions(new LinkedHashMap<>());
    }

    /**
     * Parses QEMU's {@code key=value,key=value} syntax, where {@code ,,} is a literal comma.
     * A bare word without {@code =} becomes the value of {@code implicitKey} (when not null).
     */
    public static BlockOptions parse(String text, String implicitKey) {
        Map<String, String> map = new LinkedHashMap<>();
        StringBuilder cur = new StringBuilder();
        java.util.List<String> parts = new java.util.ArrayList<>();
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
        for (int i = 0; i < parts.size(); i++) {
            String part = parts.get(i);
            int eq = part.indexOf('=');
            if (eq < 0) {
                if (i == 0 && implicitKey != null && !part.isEmpty()) {
                    map.put(implicitKey, part);
                    continue;
                }
                if (part.isEmpty()) {
                    throw BlockException.invalid("Invalid parameter ''");
                }
                throw BlockException.invalid("Expected '=' after parameter '" + part + "'");
            }
            String key = part.substring(0, eq);
            if (key.isEmpty()) {
                throw BlockException.invalid("Invalid parameter ''");
            }
            map.put(key, part.substring(eq + 1));
        }
        return new BlockOptions(map);
    }

    public String get(String key) {
        return values.get(key);
    }

    public String get(String key, String def) {
        return values.getOrDefault(key, def);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** QEMU booleans: on/off, true/false, yes/no. */
    public boolean getBool(String key, boolean def) {
        String v = values.get(key);
        if (v == null) {
            return def;
        }
        return switch (v) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw BlockException.invalid("Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** A size in bytes with optional suffix k, M, G, T (powers of 1024). */
    public long getSize(String key, long def) {
        String v = values.get(key);
        return v == null ? def : Sizes.parseBytes(v, key);
    }

    /** The options under {@code prefix.}, with the prefix removed. */
    public BlockOptions sub(String prefix) {
        Map<String, String> m = new LinkedHashMap<>();
        String p = prefix + ".";
        values.forEach((k, v) -> {
            if (k.startsWith(p)) {
                m.put(k.substring(p.length()), v);
            }
        });
        return new BlockOptions(m);
    }

    public BlockOptions with(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(values);
        m.put(key, value);
        return new BlockOptions(m);
    }

    public BlockOptions without(String key) {
        Map<String, String> m = new LinkedHashMap<>(values);
        m.remove(key);
        return new BlockOptions(m);
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public Map<String, String> asMap() {
        return java.util.Collections.unmodifiableMap(values);
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
