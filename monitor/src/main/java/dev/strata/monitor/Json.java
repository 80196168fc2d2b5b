package dev.strata.monitor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Builders for the JSON values handlers return and events carry. Objects keep insertion order;
 * put members in QEMU's schema order, because the wire writer reproduces QEMU's hash order from it
 * (see {@code dev.strata.monitor.qmp.QmpJson}). Stateless; any thread.
 */
public final class Json {

    /** Shared mapper: thread-safe once configured, never reconfigured. */
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    public static ArrayNode array() {
        return JsonNodeFactory.instance.arrayNode();
    }
}
