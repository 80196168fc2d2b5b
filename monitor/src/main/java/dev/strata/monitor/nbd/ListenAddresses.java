package dev.strata.monitor.nbd;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.nbd.NbdListenAddress;
import dev.strata.blockdrv.nbd.NbdServer;
import dev.strata.blockdrv.nbd.NbdServerOptions;
import dev.strata.monitor.CommandException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The listen address of {@code nbd-server-start}: QEMU's {@code SocketAddressLegacy}
 * ({@code {"type":"unix","data":{"path":...}}} or {@code {"type":"inet","data":{"host":...,"port":"10809"}}})
 * and the HMP {@code host:port} / {@code unix:PATH} text, with QEMU 7.2's messages; and
 * {@link #start}, which words a failed bind as QEMU does. Stateless.
 */
public final class ListenAddresses {

    private ListenAddresses() {
    }

    /**
     * Starts a server on {@code address}; a TCP port already taken fails with QEMU's
     * {@code Failed to find an available port: Address already in use} (qemu-nbd and
     * {@code nbd-server-start} both say so).
     */
    public static NbdServer start(NbdListenAddress address, NbdServerOptions options) {
        try {
            return NbdServer.start(address, options);
        } catch (BlockException e) {
            if (address instanceof NbdListenAddress.Inet && String.valueOf(e.getMessage()).contains("Address already in use")) {
                throw new BlockException(e.kind(), "Failed to find an available port: Address already in use", e);
            }
            throw e;
        }
    }

    static NbdListenAddress fromQmp(JsonNode addr) {
        if (!addr.isObject()) {
            throw CommandException.generic("Invalid parameter type for 'addr', expected: object");
        }
        JsonNode type = addr.get("type");
        if (type == null) {
            throw CommandException.generic("Parameter 'addr.type' is missing");
        }
        String t = type.asText();
        if (!t.equals("unix") && !t.equals("inet") && !t.equals("fd") && !t.equals("vsock")) {
            throw CommandException.generic("Parameter 'type' does not accept value '" + t + "'");
        }
        JsonNode data = addr.get("data");
        if (data == null) {
            throw CommandException.generic("Parameter 'addr.data' is missing");
        }
        if (!data.isObject()) {
            throw CommandException.generic("Invalid parameter type for 'addr.data', expected: object");
        }
        return switch (t) {
            case "unix" -> unix(member(data, "path"));
            case "inet" -> inet(member(data, "host"), member(data, "port"));
            case "fd" -> throw CommandException.generic("File descriptor named '" + member(data, "str") + "' has not been found");
            default -> throw CommandException.generic("vsock addresses are not supported by Strata's NBD server (use unix or inet)");
        };
    }

    private static String member(JsonNode data, String name) {
        JsonNode v = data.get(name);
        if (v == null) {
            throw CommandException.generic("Parameter 'addr.data." + name + "' is missing");
        }
        if (!v.isTextual()) {
            throw CommandException.generic("Invalid parameter type for 'addr.data." + name + "', expected: string");
        }
        return v.asText();
    }

    /** HMP's {@code nbd_server_start} argument: {@code unix:PATH} or {@code host:port} ({@code [v6]:port}). */
    static NbdListenAddress fromHmp(String text) {
        if (text.startsWith("unix:")) {
            return unix(text.substring(5));
        }
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw CommandException.generic("error parsing address '" + text + "'");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return inet(host, text.substring(colon + 1));
    }

    static NbdListenAddress unix(String path) {
        Path p = Path.of(path);
        Path parent = p.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw CommandException.generic("Failed to bind socket to " + path + ": No such file or directory");
        }
        return NbdListenAddress.unix(p);
    }

    static NbdListenAddress inet(String host, String port) {
        int n;
        try {
            n = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0 || n > 65535) {
            throw CommandException.generic("address resolution failed for " + host + ":" + port + ": Servname not supported for ai_socktype");
        }
        return NbdListenAddress.inet(host, n);
    }
}
