package dev.strata.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The validated arguments of one command call. QMP builds it from the request's
 * {@code arguments} object, HMP from the words it parsed; either way {@link #validate} has checked
 * it against the command's {@link Param}s, so the typed getters cannot meet a wrong type.
 *
 * <p>Immutable after construction (the wrapped node is a private copy); any thread.
 */
public final class Args {

    private final ObjectNode json;

    private Args(ObjectNode json) {
        this.json = json;
    }

    /** Arguments that have not been validated: for HMP-only commands, whose parser already typed them. */
    public static Args trusted(ObjectNode json) {
        return new Args(json.deepCopy());
    }

    public static Args empty() {
        return new Args(Json.object());
    }

    /**
     * Checks {@code arguments} (null = none given) against {@code params} with QEMU's messages, in
     * QEMU's order: each declared member in turn (missing, wrong type, bad enum value), then any
     * member nobody declared.
     */
    public static Args validate(List<Param> params, JsonNode arguments) {
        ObjectNode in = arguments == null ? Json.object() : (ObjectNode) arguments;
        for (Param p : params) {
            JsonNode v = in.get(p.name());
            if (v == null) {
                if (!p.optional()) {
                    throw CommandException.generic("Parameter '" + p.name() + "' is missing");
                }
                continue;
            }
            checkType(p.name(), p, v);
        }
        Iterator<Map.Entry<String, JsonNode>> it = in.fields();
        while (it.hasNext()) {
            String key = it.next().getKey();
            if (params.stream().noneMatch(p -> p.name().equals(key))) {
                throw CommandException.generic("Parameter '" + key + "' is unexpected");
            }
        }
        return new Args(in.deepCopy());
    }

    private static void checkType(String name, Param p, JsonNode v) {
        boolean ok = switch (p.type()) {
            case STRING, ENUM -> v.isTextual();
            case INT -> v.isIntegralNumber() && v.canConvertToLong();
            case BOOL -> v.isBoolean();
            case NUMBER -> v.isNumber();
            case ENUM_LIST -> v.isArray();
            case OBJECT -> v.isObject();
            case ANY -> true;
        };
        if (!ok) {
            throw CommandException.generic("Invalid parameter type for '" + name + "', expected: " + p.type().jsonName());
        }
        if (p.type() == Param.Type.ENUM && !p.values().contains(v.asText())) {
            throw CommandException.generic("Parameter '" + name + "' does not accept value '" + v.asText() + "'");
        }
        if (p.type() == Param.Type.ENUM_LIST) {
            // QEMU's list visitor has no name for elements, hence its literal 'null' in these messages
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw CommandException.generic("Invalid parameter type for 'null', expected: string");
                }
                if (!p.values().contains(e.asText())) {
                    throw CommandException.generic("Parameter 'null' does not accept value '" + e.asText() + "'");
                }
            }
        }
    }

    public boolean has(String name) {
        JsonNode v = json.get(name);
        return v != null && !v.isNull();
    }

    /** A required string (validation guaranteed it). */
    public String str(String name) {
        JsonNode v = json.get(name);
        if (v == null || !v.isTextual()) {
            throw CommandException.generic("Parameter '" + name + "' is missing");
        }
        return v.asText();
    }

    public String str(String name, String def) {
        JsonNode v = json.get(name);
        return v == null || !v.isTextual() ? def : v.asText();
    }

    public long integer(String name) {
        JsonNode v = json.get(name);
        if (v == null || !v.canConvertToLong()) {
            throw CommandException.generic("Parameter '" + name + "' is missing");
        }
        return v.asLong();
    }

    public long integer(String name, long def) {
        JsonNode v = json.get(name);
        return v == null || !v.isNumber() ? def : v.asLong();
    }

    public boolean bool(String name, boolean def) {
        JsonNode v = json.get(name);
        return v == null || !v.isBoolean() ? def : v.asBoolean();
    }

    public JsonNode get(String name) {
        return json.get(name);
    }

    /** A copy of the arguments as JSON. */
    public ObjectNode toJson() {
        return json.deepCopy();
    }

    @Override
    public String toString() {
        return json.toString();
    }
}
