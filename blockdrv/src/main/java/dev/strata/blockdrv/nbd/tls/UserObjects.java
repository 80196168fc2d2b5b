package dev.strata.blockdrv.nbd.tls;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.nbd.NbdAuthorizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The user-creatable objects a machine or {@code strata nbd} holds by id ({@code -object},
 * {@code --object}, QMP {@code object-add}/{@code object-del}): {@code tls-creds-x509},
 * {@code authz-simple} and {@code authz-list}, with QEMU 7.2's property checks and messages.
 * Other QOM types are refused as QEMU refuses an unknown one.
 *
 * <p>Any thread; {@link #objects} is guarded by {@link #lock}.
 */
public final class UserObjects {

    /** The types this registry creates. */
    public static final List<String> TYPES = List.of("authz-list", "authz-simple", "tls-creds-x509");

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Object> objects = new LinkedHashMap<>();

    /**
     * Creates object {@code id} of {@code type} from {@code props} (strings from a command line, or
     * JSON values as String/Boolean/Number/List/Map; flat {@code rules.N.key} keys are accepted).
     *
     * @throws BlockException INVALID_ARGUMENT with QEMU's message
     */
    public void add(String type, String id, Map<String, Object> props) {
        if (!TYPES.contains(type)) {
            throw invalid("Parameter 'qom-type' does not accept value '" + type + "'");
        }
        if (id == null) {
            throw invalid("Parameter 'id' is missing");
        }
        Object obj = switch (type) {
            case "tls-creds-x509" -> tlsCreds(id, props);
            case "authz-simple" -> {
                checkKnown(props, Set.of("identity"));
                if (!props.containsKey("identity")) {
                    throw invalid("Parameter 'identity' is missing");
                }
                yield new AuthzSimple(id, String.valueOf(props.get("identity")));
            }
            default -> authzList(id, props);
        };
        lock.lock();
        try {
            if (objects.containsKey(id)) {
                throw invalid("attempt to add duplicate property '" + id + "' to object (type 'container')");
            }
            objects.put(id, obj);
        } finally {
            lock.unlock();
        }
    }

    /** Deletes object {@code id}; QEMU's {@code object 'x' not found} when there is none. */
    public void remove(String id) {
        lock.lock();
        try {
            if (objects.remove(id) == null) {
                throw invalid("object '" + id + "' not found");
            }
        } finally {
            lock.unlock();
        }
    }

    public Object get(String id) {
        lock.lock();
        try {
            return objects.get(id);
        } finally {
            lock.unlock();
        }
    }

    /** Object ids, in creation order. */
    public List<String> ids() {
        lock.lock();
        try {
            return new ArrayList<>(objects.keySet());
        } finally {
            lock.unlock();
        }
    }

    /**
     * The server credentials {@code id} names, with QEMU's errors for a missing object, one of
     * another type, and client credentials.
     */
    public X509Credentials serverCredentials(String id) {
        return credentials(id, TlsEndpoint.SERVER);
    }

    /** The client credentials {@code id} names ({@code qemu-nbd -L --tls-creds}), with QEMU's errors. */
    public X509Credentials clientCredentials(String id) {
        return credentials(id, TlsEndpoint.CLIENT);
    }

    private X509Credentials credentials(String id, TlsEndpoint endpoint) {
        Object o = get(id);
        if (o == null) {
            throw invalid("No TLS credentials with id '" + id + "'");
        }
        if (!(o instanceof X509Credentials c)) {
            throw invalid("Object with id '" + id + "' is not TLS credentials");
        }
        if (c.endpoint() != endpoint) {
            throw invalid("Expected TLS credentials for a " + endpoint.qapiName() + " endpoint");
        }
        return c;
    }

    /**
     * An NBD authorizer for {@code tls-authz} id {@code authzId}. As in QEMU the object is looked
     * up when a client connects, so it may be created after the server starts; while it does not
     * exist (or is not an authz object) every client is refused.
     */
    public NbdAuthorizer authorizer(String authzId) {
        return subjectRfc2253 -> {
            if (subjectRfc2253 == null) {
                return false;
            }
            String identity = ClientIdentity.fromRfc2253(subjectRfc2253);
            boolean ok = get(authzId) instanceof Authorizer a && a.allows(identity);
            if (!ok) {
                org.slf4j.LoggerFactory.getLogger(UserObjects.class)
                        .warn("option negotiation failed: TLS x509 authz check for {} is denied", identity);
            }
            return ok;
        };
    }

    private static X509Credentials tlsCreds(String id, Map<String, Object> props) {
        checkKnown(props, Set.of("endpoint", "dir", "verify-peer", "priority", "sanity-check", "loaded", "passwordid"));
        TlsEndpoint endpoint = TlsEndpoint.CLIENT;
        if (props.containsKey("endpoint")) {
            String e = String.valueOf(props.get("endpoint"));
            endpoint = switch (e) {
                case "server" -> TlsEndpoint.SERVER;
                case "client" -> TlsEndpoint.CLIENT;
                default -> throw invalid("Parameter 'endpoint' does not accept value '" + e + "'");
            };
        }
        boolean verify = bool(props, "verify-peer", true);
        if (props.get("dir") == null) {
            throw invalid("Missing 'dir' property value");
        }
        boolean sanityCheck = bool(props, "sanity-check", true);
        return X509Credentials.load(id, endpoint, Path.of(String.valueOf(props.get("dir"))), verify, sanityCheck);
    }

    private static AuthzList authzList(String id, Map<String, Object> props) {
        Map<String, Object> p = groupRules(props);
        checkKnown(p, Set.of("policy", "rules"));
        boolean allow = policy(p.getOrDefault("policy", "deny"));
        List<AuthzList.Rule> rules = new ArrayList<>();
        if (p.get("rules") instanceof List<?> list) {
            for (Object o : list) {
                if (!(o instanceof Map<?, ?> m)) {
                    throw invalid("Invalid parameter type for 'rules', expected: object");
                }
                if (m.get("match") == null) {
                    throw invalid("Parameter 'match' is missing");
                }
                if (m.get("policy") == null) {
                    throw invalid("Parameter 'policy' is missing");
                }
                Object fmt = m.get("format");
                String f = fmt == null ? "exact" : String.valueOf(fmt);
                if (!f.equals("exact") && !f.equals("glob")) {
                    throw invalid("Parameter 'format' does not accept value '" + f + "'");
                }
                rules.add(new AuthzList.Rule(String.valueOf(m.get("match")), policy(m.get("policy")), f.equals("glob")));
            }
        }
        return new AuthzList(id, allow, rules);
    }

    /** Turns flat {@code rules.N.key=value} keys (command-line form) into a list of maps. */
    private static Map<String, Object> groupRules(Map<String, Object> props) {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<Integer, Map<String, Object>> byIndex = new java.util.TreeMap<>();
        for (Map.Entry<String, Object> e : props.entrySet()) {
            String[] k = e.getKey().split("\\.", 3);
            if (k.length == 3 && k[0].equals("rules") && k[1].matches("\\d+")) {
                byIndex.computeIfAbsent(Integer.parseInt(k[1]), i -> new LinkedHashMap<>()).put(k[2], e.getValue());
            } else {
                out.put(e.getKey(), e.getValue());
            }
        }
        if (!byIndex.isEmpty()) {
            out.put("rules", new ArrayList<>(byIndex.values()));
        }
        return out;
    }

    private static boolean policy(Object v) {
        String s = String.valueOf(v);
        return switch (s) {
            case "allow" -> true;
            case "deny" -> false;
            default -> throw invalid("Parameter 'policy' does not accept value '" + s + "'");
        };
    }

    private static boolean bool(Map<String, Object> props, String key, boolean def) {
        Object v = props.get(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        return switch (String.valueOf(v)) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw invalid("Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    private static void checkKnown(Map<String, Object> props, Set<String> known) {
        for (String k : props.keySet()) {
            if (!known.contains(k)) {
                throw invalid("Parameter '" + k + "' is unexpected");
            }
        }
    }

    private static BlockException invalid(String msg) {
        return BlockException.invalid(msg);
    }

    /**
     * Parses the command-line form {@code TYPE,id=ID,key=value,...} ({@code ,,} is a literal comma)
     * and adds the object.
     */
    public void addFromOptionString(String spec) {
        List<String> parts = splitOptions(spec);
        String type = null;
        String id = null;
        Map<String, Object> props = new LinkedHashMap<>();
        for (int i = 0; i < parts.size(); i++) {
            String part = parts.get(i);
            int eq = part.indexOf('=');
            if (i == 0 && eq < 0) {
                type = part;
                continue;
            }
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "on" : part.substring(eq + 1);
            switch (k) {
                case "qom-type" -> type = v;
                case "id" -> id = v;
                default -> props.put(k, v);
            }
        }
        if (type == null) {
            throw invalid("Parameter 'qom-type' is missing");
        }
        add(type, id, props);
    }

    static List<String> splitOptions(String spec) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < spec.length(); i++) {
            char c = spec.charAt(i);
            if (c == ',') {
                if (i + 1 < spec.length() && spec.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                    continue;
                }
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
