package dev.strata.blockdrv.nbd;

import java.nio.file.Path;

/**
 * Where an {@link NbdServer} listens: a unix socket path or a TCP host and port (QEMU's
 * {@code SocketAddress} types {@code unix} and {@code inet}). Immutable values.
 */
public sealed interface NbdListenAddress {

    /** A unix socket created at {@code path} (mode 0600; an existing socket file is replaced). */
    record Unix(Path path) implements NbdListenAddress {
        public Unix {
            if (path == null) {
                throw new IllegalArgumentException("unix socket path is required");
            }
        }

        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /** A TCP listener on {@code host} (a name or literal; empty means all addresses) and {@code port} (0: any free port). */
    record Inet(String host, int port) implements NbdListenAddress {
        public Inet {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            host = host == null ? "" : host;
        }

        @Override
        public String toString() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    static NbdListenAddress unix(Path path) {
        return new Unix(path);
    }

    static NbdListenAddress inet(String host, int port) {
        return new Inet(host, port);
    }
}
