package dev.strata.harness.launcher;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Parses the char-device forms monitors are reached by: the short {@code -monitor} / {@code -qmp}
 * values ({@code stdio}, {@code none}, {@code unix:PATH,server=on,wait=off}) and the long
 * {@code -chardev socket,id=ID,path=PATH,server=on,wait=off} form that {@code -mon chardev=ID}
 * refers to.
 *
 * <p>Pure functions; any thread.
 */
final class ChardevOptions {

    private static final List<String> FLAGS = List.of("server", "wait");

    private ChardevOptions() {
    }

    /** A short form: {@code stdio}, {@code none} or {@code unix:PATH[,server=on][,wait=off]}. */
    static Endpoint parseShort(String value, String typed) {
        if (value.equals("stdio")) {
            return Endpoint.stdio(typed);
        }
        if (value.equals("none")) {
            return Endpoint.none(typed);
        }
        if (!value.startsWith("unix:")) {
            String backend = OptionText.split(value).get(0);
            if (List.of("vc", "pty", "null", "file", "pipe", "tcp", "udp", "telnet", "mon", "chardev").stream()
                    .anyMatch(b -> backend.equals(b) || backend.startsWith(b + ":"))) {
                throw new UsageException(typed, "'" + backend + "' is not supported by Strata (use stdio, none or unix:PATH,server=on,wait=off)");
            }
            throw new UsageException(typed, "'" + value + "' is not a valid char driver");
        }
        Map<String, String> o = OptionText.parse(value.substring("unix:".length()), "path", FLAGS, typed, true);
        return unix(o, typed);
    }

    /** The {@code -chardev} long form; returns the id and the endpoint. */
    static Map.Entry<String, Endpoint> parseChardev(String value, String typed) {
        Map<String, String> o = OptionText.parse(value, "backend", FLAGS, typed, true);
        String id = o.get("id");
        if (id == null || id.isEmpty()) {
            throw new UsageException(typed, "chardev: no id specified");
        }
        String backend = o.getOrDefault("backend", "");
        Endpoint e = switch (backend) {
            case "stdio" -> Endpoint.stdio(typed);
            case "socket" -> {
                if (o.containsKey("host") || o.containsKey("port")) {
                    throw new UsageException(typed, "TCP sockets are not supported by Strata (use path=PATH)");
                }
                yield unix(o, typed);
            }
            case "" -> throw new UsageException(typed, "chardev: \"" + id + "\" missing backend");
            default -> throw new UsageException(typed, "'" + backend + "' is not supported by Strata (use socket or stdio)");
        };
        return Map.entry(id, e);
    }

    private static Endpoint unix(Map<String, String> o, String typed) {
        for (String k : o.keySet()) {
            if (!List.of("path", "server", "wait", "id", "backend", "abstract", "tight").contains(k)) {
                throw new UsageException(typed, "Invalid parameter '" + k + "'");
            }
        }
        String path = o.get("path");
        if (path == null || path.isEmpty()) {
            throw new UsageException(typed, "chardev: socket: no unix socket path given");
        }
        if (!OptionText.bool(o.getOrDefault("server", "off"), "server", typed)) {
            throw new UsageException(typed, "only listening sockets are supported: add server=on,wait=off");
        }
        // QEMU's default for a listening socket is wait=on: hold start-up until a client connects
        boolean wait = OptionText.bool(o.getOrDefault("wait", "on"), "wait", typed);
        try {
            return new Endpoint(Endpoint.Kind.UNIX, Path.of(path), wait, typed);
        } catch (java.nio.file.InvalidPathException ex) {
            throw new UsageException(typed, "invalid socket path '" + path + "'");
        }
    }
}
