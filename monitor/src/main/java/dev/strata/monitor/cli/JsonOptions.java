package dev.strata.monitor.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns the JSON form of a command-line option ({@code -blockdev '{"driver":"qcow2",...}'}) into
 * the flat dotted key/value pairs of its {@code key=value} form ({@code file.driver=file}), so the
 * launcher has one option model for both. It lives in the monitor module because only this module
 * may use Jackson.
 *
 * <p>Stateless; any thread (the shared {@link ObjectMapper} is only used for reading).
 */
public final class JsonOptions {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonOptions() {
    }

    /**
     * Flattens a JSON object: nested objects become dotted keys, array elements {@code key.0},
     * {@code key.1}; booleans become {@code on}/{@code off}, {@code null} becomes {@code null}
     * (QEMU's "no backing" spelling); numbers and strings keep their text.
     *
     * @throws IllegalArgumentException with a one-line reason when the text is not a JSON object
     */
    public static Map<String, String> flatten(String json) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("JSON parse error, " + e.getOriginalMessage().lines().findFirst().orElse("invalid JSON"));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("JSON parse error, " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw new IllegalArgumentException("JSON parse error, expecting value");
        }
        if (!root.isObject()) {
            throw new IllegalArgumentException("JSON object expected");
        }
        Map<String, String> out = new LinkedHashMap<>();
        flatten("", root, out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            if (node.isEmpty() && !prefix.isEmpty()) {
                throw new IllegalArgumentException("Parameter '" + prefix + "' must not be an empty object");
            }
            Iterator<Map.Entry<String, JsonNode>> it = node.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                flatten(join(prefix, e.getKey()), e.getValue(), out);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                flatten(join(prefix, Integer.toString(i)), node.get(i), out);
            }
        } else if (node.isBoolean()) {
            out.put(prefix, node.booleanValue() ? "on" : "off");
        } else if (node.isNull()) {
            out.put(prefix, "null");
        } else {
            out.put(prefix, node.asText());
        }
    }

    private static String join(String prefix, String key) {
        if (key.isEmpty()) {
            throw new IllegalArgumentException("Invalid parameter ''");
        }
        return prefix.isEmpty() ? key : prefix + "." + key;
    }
}
