package dev.strata.harness.launcher;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The command line of {@code strata nbd}, which is {@code qemu-nbd}'s: getopt-style short options
 * (value attached or next), long options ({@code --port=N} or {@code --port N}), one FILE (none
 * with {@code -L}). Defaults and messages are qemu-nbd 7.2's; options for kernel devices and the
 * others Strata does not have are refused with one clear line.
 *
 * <p>A mutable bag filled by {@link #parse}; one per run, one thread.
 */
final class NbdToolOptions {

    /** Thrown for a bad command line: the lines to print (without the program prefix). */
    static final class Bad extends RuntimeException {
        final boolean tryHelp;

        Bad(String message, boolean tryHelp) {
            super(message);
            this.tryHelp = tryHelp;
        }
    }

    private static final String SHORT_WITH_VALUE = "bopckeflxTDB";
    private static final Map<String, String> LONG = Map.ofEntries(
            Map.entry("bind", "b"), Map.entry("offset", "o"), Map.entry("port", "p"), Map.entry("connect", "c"),
            Map.entry("socket", "k"), Map.entry("shared", "e"), Map.entry("format", "f"), Map.entry("load-snapshot", "l"),
            Map.entry("export-name", "x"), Map.entry("trace", "T"), Map.entry("description", "D"), Map.entry("bitmap", "B"),
            Map.entry("help", "h"), Map.entry("version", "V"), Map.entry("read-only", "r"), Map.entry("snapshot", "s"),
            Map.entry("nocache", "n"), Map.entry("disconnect", "d"), Map.entry("verbose", "v"), Map.entry("persistent", "t"),
            Map.entry("allocation-depth", "A"), Map.entry("list", "L"));
    private static final Set<String> LONG_WITH_VALUE = Set.of("cache", "aio", "discard", "detect-zeroes", "object", "tls-creds",
            "tls-authz", "pid-file", "selinux-label");
    private static final Set<String> LONG_FLAGS = Set.of("image-opts", "fork");

    String bind;
    String port;
    String socket;
    int shared = 1;
    boolean persistent;
    boolean verbose;
    String exportName;
    String description;
    boolean allocationDepth;
    String bitmap;
    boolean list;
    final List<String> objects = new ArrayList<>();
    String tlsCreds;
    String tlsAuthz;
    boolean fork;
    String pidFile;
    String format;
    boolean readOnly;
    boolean snapshot;
    String cache;
    String aio;
    String discard;
    String detectZeroes;
    boolean imageOpts;
    boolean help;
    boolean version;
    String file;

    static NbdToolOptions parse(List<String> args) {
        NbdToolOptions o = new NbdToolOptions();
        List<String> files = new ArrayList<>();
        boolean endOfOptions = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (endOfOptions || !a.startsWith("-") || a.equals("-")) {
                files.add(a);
            } else if (a.equals("--")) {
                endOfOptions = true;
            } else if (a.startsWith("--")) {
                String name = a.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                String shortName = LONG.get(name);
                boolean wantsValue = LONG_WITH_VALUE.contains(name) || (shortName != null && SHORT_WITH_VALUE.contains(shortName));
                if (shortName == null && !LONG_WITH_VALUE.contains(name) && !LONG_FLAGS.contains(name)) {
                    throw new Bad("unrecognized option '" + a + "'", true);
                }
                if (wantsValue && value == null) {
                    if (i + 1 >= args.size()) {
                        throw new Bad("option '--" + name + "' requires an argument", true);
                    }
                    value = args.get(++i);
                } else if (!wantsValue && value != null) {
                    throw new Bad("option '--" + name + "' doesn't allow an argument", true);
                }
                o.apply(shortName != null ? shortName : name, value);
            } else {
                for (int j = 1; j < a.length(); j++) {
                    String c = String.valueOf(a.charAt(j));
                    if (!"hVbopkcdrsnvtxefTDABLl".contains(c)) {
                        throw new Bad("invalid option -- '" + c + "'", true);
                    }
                    if (SHORT_WITH_VALUE.contains(c)) {
                        String value = a.substring(j + 1);
                        if (value.isEmpty()) {
                            if (i + 1 >= args.size()) {
                                throw new Bad("option requires an argument -- '" + c + "'", true);
                            }
                            value = args.get(++i);
                        }
                        o.apply(c, value);
                        break;
                    }
                    o.apply(c, null);
                }
            }
        }
        if (o.help || o.version) {
            return o;
        }
        o.check(files);
        return o;
    }

    private void apply(String opt, String v) {
        switch (opt) {
            case "b" -> bind = v;
            case "p" -> port = v;
            case "k" -> socket = v;
            case "e" -> {
                try {
                    shared = Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    shared = -1;
                }
                if (shared < 0) {
                    throw new Bad("Invalid shared device number '" + v + "'", false);
                }
            }
            case "t" -> persistent = true;
            case "v" -> verbose = true;
            case "x" -> exportName = v;
            case "D" -> description = v;
            case "A" -> allocationDepth = true;
            case "B" -> bitmap = v;
            case "L" -> list = true;
            case "object" -> objects.add(v);
            case "tls-creds" -> tlsCreds = v;
            case "tls-authz" -> tlsAuthz = v;
            case "fork" -> fork = true;
            case "pid-file" -> pidFile = v;
            case "f" -> format = v;
            case "r" -> readOnly = true;
            case "s" -> snapshot = true;
            case "n" -> cache = "none";
            case "cache" -> {
                if (!Set.of("none", "writeback", "writethrough", "directsync", "unsafe").contains(v)) {
                    throw new Bad("Invalid cache mode `" + v + "'", false);
                }
                cache = v;
            }
            case "aio" -> {
                if (!Set.of("native", "threads", "io_uring").contains(v)) {
                    throw new Bad("Invalid aio mode '" + v + "'", false);
                }
                aio = v;
            }
            case "discard" -> {
                if (!Set.of("ignore", "off", "unmap", "on").contains(v)) {
                    throw new Bad("Invalid discard mode `" + v + "'", false);
                }
                discard = v.equals("on") ? "unmap" : v.equals("off") ? "ignore" : v;
            }
            case "detect-zeroes" -> {
                if (!Set.of("off", "on", "unmap").contains(v)) {
                    throw new Bad("Failed to parse detect_zeroes mode: invalid parameter value: " + v, false);
                }
                detectZeroes = v;
            }
            case "image-opts" -> imageOpts = true;
            case "h" -> help = true;
            case "V" -> version = true;
            case "c", "d" -> throw new Bad("-" + opt + "/--" + (opt.equals("c") ? "connect" : "disconnect")
                    + ": kernel NBD devices (/dev/nbdN) are not supported by Strata; serve with -k or -p and connect a client", false);
            case "o" -> throw new Bad("-o/--offset is not supported by Strata (export the whole image)", false);
            case "l" -> throw new Bad("-l/--load-snapshot is not supported by Strata (internal snapshots are not implemented)", false);
            case "T" -> throw new Bad("-T/--trace is not supported by Strata (use -v for a log of connections)", false);
            case "selinux-label" -> throw new Bad("--selinux-label is not supported by Strata", false);
            default -> throw new Bad("unrecognized option '" + opt + "'", true);
        }
    }

    private void check(List<String> files) {
        if (list) {
            if (!files.isEmpty()) {
                throw new Bad("List mode is incompatible with a file name", false);
            }
        } else if (files.size() != 1) {
            throw new Bad("Invalid number of arguments", true);
        } else {
            file = files.get(0);
        }
        if (tlsAuthz != null && tlsCreds == null) {
            throw new Bad("--tls-authz is not permitted without --tls-creds", false);
        }
        if ("unmap".equals(detectZeroes) && !"unmap".equals(discard)) {
            throw new Bad("setting detect-zeroes to unmap is not allowed without setting discard operation to unmap", false);
        }
        if (exportName != null && exportName.length() > 4096) {
            throw new Bad("export name '" + exportName + "' too long", false);
        }
        if (description != null && description.length() > 4096) {
            throw new Bad("export description '" + description + "' too long", false);
        }
    }
}
