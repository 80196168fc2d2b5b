package dev.strata.monitor;

import java.util.List;

/**
 * One QMP argument of a command: name, type, optional or not, and for enums the accepted values.
 * Parameters are validated in declaration order, as QEMU's QAPI visitor does (so the first
 * missing or mistyped member is the one reported).
 *
 * @param name     the JSON member name, e.g. {@code snapshot-file}
 * @param type     the QAPI type
 * @param optional whether the member may be absent
 * @param values   accepted values for {@link Type#ENUM} and {@link Type#ENUM_LIST}, else empty
 */
public record Param(String name, Type type, boolean optional, List<String> values) {

    /** QAPI types the monitor validates. {@code ANY} accepts every JSON value. */
    public enum Type {
        STRING("string"), INT("integer"), BOOL("boolean"), NUMBER("number"), ENUM("string"),
        ENUM_LIST("array"), OBJECT("object"), ANY("any");

        private final String jsonName;

        Type(String jsonName) {
            this.jsonName = jsonName;
        }

        /** The word in {@code Invalid parameter type for 'x', expected: <word>}. */
        public String jsonName() {
            return jsonName;
        }
    }

    public Param {
        values = List.copyOf(values);
    }

    public static Param str(String name) {
        return new Param(name, Type.STRING, false, List.of());
    }

    public static Param optStr(String name) {
        return new Param(name, Type.STRING, true, List.of());
    }

    public static Param integer(String name) {
        return new Param(name, Type.INT, false, List.of());
    }

    public static Param optInt(String name) {
        return new Param(name, Type.INT, true, List.of());
    }

    public static Param bool(String name) {
        return new Param(name, Type.BOOL, false, List.of());
    }

    public static Param optBool(String name) {
        return new Param(name, Type.BOOL, true, List.of());
    }

    public static Param enumOf(String name, String... values) {
        return new Param(name, Type.ENUM, false, List.of(values));
    }

    public static Param optEnum(String name, String... values) {
        return new Param(name, Type.ENUM, true, List.of(values));
    }

    public static Param optEnumList(String name, String... values) {
        return new Param(name, Type.ENUM_LIST, true, List.of(values));
    }

    public static Param optAny(String name) {
        return new Param(name, Type.ANY, true, List.of());
    }

    /** The QAPI-introspection-like text used by the generated command reference. */
    public String describe() {
        String t = switch (type) {
            case ENUM -> String.join("|", values);
            case ENUM_LIST -> "[" + String.join("|", values) + "]";
            case INT -> "int";
            case BOOL -> "bool";
            case STRING -> "str";
            case NUMBER -> "number";
            case OBJECT -> "object";
            case ANY -> "any";
        };
        return "`" + name + (optional ? "?" : "") + "` " + t;
    }
}
