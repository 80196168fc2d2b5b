package dev.strata.harness.img;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * getopt-style parsing of one {@code img} sub-command: short options ({@code -f qcow2},
 * {@code -fqcow2}, {@code -q}), long options ({@code --output=json}, {@code --output json}),
 * positional arguments; repeated {@code -o} values are joined with commas as qemu-img does.
 * Immutable after parsing.
 *
 * <p>Not {@code dev.strata.monitor.Args}, which holds a command's arguments already validated
 * against its declared parameters (QMP objects, HMP words); this one parses a shell command line.
 */
final class ImgOptions {

    /** A usage error; the tool prints it and exits 1. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    /**
     * @param withValue option names (without dashes) that take a value, e.g. {@code f}, {@code output}
     * @param flags     option names that take none, e.g. {@code q}, {@code U}, {@code backing-chain}
     */
    ImgOptions(String[] args, int from, Set<String> withValue, Set<String> flags) {
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                for (int j = i + 1; j < args.length; j++) {
                    positional.add(args[j]);
                }
                break;
            }
            if (a.startsWith("--")) {
                String name = a.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (withValue.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException("option '--" + name + "' requires an argument");
                        }
                        value = args[++i];
                    }
                    put(name, value);
                } else if (flags.contains(name) && value == null) {
                    options.put(name, "");
                } else {
                    throw new UsageException("unrecognized option '" + a + "'");
                }
            } else if (a.startsWith("-") && a.length() > 1) {
                for (int k = 1; k < a.length(); k++) {
                    String name = String.valueOf(a.charAt(k));
                    if (withValue.contains(name)) {
                        String value = a.substring(k + 1);
                        if (value.isEmpty()) {
                            if (i + 1 >= args.length) {
                                throw new UsageException("option requires an argument -- '" + name + "'");
                            }
                            value = args[++i];
                        }
                        put(name, value);
                        break;
                    } else if (flags.contains(name)) {
                        options.put(name, "");
                    } else {
                        throw new UsageException("invalid option -- '" + name + "'");
                    }
                }
            } else {
                positional.add(a);
            }
        }
    }

    private void put(String name, String value) {
        if (name.equals("o") && options.containsKey("o")) {
            options.put("o", options.get("o") + "," + value);
        } else {
            options.put(name, value);
        }
    }

    boolean has(String name) {
        return options.containsKey(name);
    }

    String get(String name) {
        return options.get(name);
    }

    String get(String name, String def) {
        return options.getOrDefault(name, def);
    }

    List<String> positional() {
        return positional;
    }

    /** The {@code --output} choice: true for json; anything but human/json is a usage error. */
    boolean json() {
        String o = get("output", "human");
        return switch (o) {
            case "json" -> true;
            case "human" -> false;
            default -> throw new UsageException("--output must be used with human or json as argument.");
        };
    }
}
