package dev.strata.monitor.nbd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.Param;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QMP {@code object-add} / {@code object-del} and HMP {@code object_add} / {@code object_del} for
 * the object types Strata has ({@code tls-creds-x509}, {@code authz-simple}, {@code authz-list});
 * {@link UserObjects} checks the properties. Monitor threads.
 */
final class ObjectCommands {

    private ObjectCommands() {
    }

    static void register(CommandRegistry r, UserObjects objects) {
        // object-add takes the type's own properties next to qom-type and id, so it validates them itself
        r.register(Command.qmp("object-add")
                .params(new Param("qom-type", Param.Type.STRING, false, List.of()), Param.str("id"), Param.optAny("endpoint"),
                        Param.optAny("dir"), Param.optAny("verify-peer"), Param.optAny("priority"), Param.optAny("sanity-check"),
                        Param.optAny("identity"), Param.optAny("policy"), Param.optAny("rules"))
                .help("create an object: tls-creds-x509, authz-simple or authz-list")
                .handler((ctx, a) -> {
                    ObjectNode json = a.toJson();
                    Map<String, Object> props = new LinkedHashMap<>();
                    for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
                        Map.Entry<String, JsonNode> e = it.next();
                        if (!e.getKey().equals("qom-type") && !e.getKey().equals("id")) {
                            props.put(e.getKey(), plain(e.getValue()));
                        }
                    }
                    objects.add(a.str("qom-type"), a.str("id"), props);
                    return null;
                })
                .hmp("object_add", "object:S", "object_add [qom-type=]type,id=str[,prop=value][,...]")
                .hmpHelp("create QOM object")
                .hmpRun((ctx, h) -> objects.addFromOptionString(h.str("object")))
                .build());
        r.register(Command.qmp("object-del")
                .params(Param.str("id"))
                .help("delete an object")
                .handler((ctx, a) -> {
                    objects.remove(a.str("id"));
                    return null;
                })
                .hmp("object_del", "id:s", "object_del id")
                .hmpHelp("destroy QOM object")
                .build());
    }

    /** JSON values as the plain Java values {@link UserObjects} takes. */
    private static Object plain(JsonNode v) {
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isArray()) {
            List<Object> l = new ArrayList<>();
            v.forEach(x -> l.add(plain(x)));
            return l;
        }
        if (v.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            v.fields().forEachRemaining(e -> m.put(e.getKey(), plain(e.getValue())));
            return m;
        }
        if (v.isNull()) {
            throw CommandException.generic("Invalid parameter type, expected: a value");
        }
        return v.asText();
    }
}
