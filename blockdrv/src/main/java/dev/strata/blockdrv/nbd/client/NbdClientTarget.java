package dev.strata.blockdrv.nbd.client;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * Where an {@code nbd} node connects and how patiently: the server address (unix socket or
 * TCP host and port), the export name, {@code reconnect-delay} and {@code open-timeout} (seconds),
 * parsed from QEMU 7.2's {@code -blockdev} options or from one of its filename forms
 * ({@code nbd://HOST[:PORT]/NAME}, {@code nbd+unix:///NAME?socket=PATH}, {@code nbd:unix:PATH[:exportname=NAME]},
 * {@code nbd:HOST:PORT[:exportname=NAME]}). Immutable.
 */
record NbdClientTarget(String unixPath, String host, String port, String export, long reconnectDelaySeconds,
        long openTimeoutSeconds, Tls tls) {

    /**
     * TLS for this target: the client credentials' context and the name the server's certificate
     * must match ({@code tls-hostname}, else the TCP host; null for a unix socket without
     * {@code tls-hostname}: chain check only).
     */
    record Tls(javax.net.ssl.SSLContext context, String hostname) {
    }

    NbdClientTarget(String unixPath, String host, String port, String export, long reconnectDelaySeconds,
            long openTimeoutSeconds) {
        this(unixPath, host, port, export, reconnectDelaySeconds, openTimeoutSeconds, null);
    }

    /** This target, connecting with TLS using {@code context}; {@code tlsHostname} overrides the host name checked. */
    NbdClientTarget withTls(javax.net.ssl.SSLContext context, String tlsHostname) {
        return new NbdClientTarget(unixPath, host, port, export, reconnectDelaySeconds, openTimeoutSeconds,
                new Tls(context, tlsHostname != null ? tlsHostname : host));
    }

    /** The IANA port of NBD, QEMU's default for {@code nbd://HOST/NAME}. */
    static final String DEFAULT_PORT = "10809";

    /** Parses the node's options; {@code filename}, when present, takes the place of {@code server.*} and {@code export}. */
    static NbdClientTarget of(BlockOptions o) {
        long reconnect = seconds(o, "reconnect-delay");
        long openTimeout = seconds(o, "open-timeout");
        String filename = o.get("filename");
        if (filename != null) {
            if (o.has("server.type") || o.has("export")) {
                throw BlockException.invalid("No 'server' or 'export' options may be given with a filename");
            }
            return parseFilename(filename, reconnect, openTimeout);
        }
        String type = o.get("server.type");
        if (type == null) {
            throw BlockException.invalid("Parameter 'server' is missing");
        }
        String export = o.get("export", "");
        return switch (type) {
            case "unix" -> new NbdClientTarget(required(o, "server.path"), null, null, export, reconnect, openTimeout);
            case "inet" -> new NbdClientTarget(null, required(o, "server.host"), required(o, "server.port"), export,
                    reconnect, openTimeout);
            case "vsock", "fd" -> throw BlockException.unsupported("server.type=" + type + " is not supported by Strata's nbd driver");
            default -> throw BlockException.invalid("Parameter 'server.type' does not accept value '" + type + "'");
        };
    }

    private static String required(BlockOptions o, String key) {
        String v = o.get(key);
        if (v == null) {
            throw BlockException.invalid("Parameter '" + key + "' is missing");
        }
        return v;
    }

    private static long seconds(BlockOptions o, String key) {
        String v = o.get(key);
        if (v == null) {
            return 0;
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw BlockException.invalid("Parameter '" + key + "' expects integer");
        }
    }

    /** QEMU's {@code nbd_parse_uri} and {@code nbd_parse_filename}, with their messages. */
    static NbdClientTarget parseFilename(String filename, long reconnect, long openTimeout) {
        if (filename.startsWith("nbd:") && !filename.startsWith("nbd://")) {
            return parseLegacy(filename.substring(4), reconnect, openTimeout);
        }
        int colon = filename.indexOf("://");
        String scheme = colon < 0 ? "" : filename.substring(0, colon);
        if (!scheme.equals("nbd") && !scheme.equals("nbd+tcp") && !scheme.equals("nbd+unix")) {
            if (scheme.startsWith("nbd")) {
                throw BlockException.invalid("Unknown protocol '" + scheme + "'");
            }
            throw BlockException.invalid("No valid URL specified");
        }
        URI uri;
        try {
            uri = new URI(filename);
        } catch (URISyntaxException e) {
            throw BlockException.invalid("No valid URL specified");
        }
        String path = uri.getRawPath() == null ? "" : uri.getPath();
        String export = path.startsWith("/") ? path.substring(1) : path;
        String query = uri.getQuery();
        if (scheme.equals("nbd+unix")) {
            if (uri.getHost() != null || uri.getPort() != -1 || query == null || !query.startsWith("socket=")
                    || query.contains("&")) {
                throw BlockException.invalid("No valid URL specified");
            }
            return new NbdClientTarget(query.substring("socket=".length()), null, null, export, reconnect, openTimeout);
        }
        if (query != null || uri.getHost() == null) {
            throw BlockException.invalid("No valid URL specified");
        }
        String port = uri.getPort() == -1 ? DEFAULT_PORT : Integer.toString(uri.getPort());
        return new NbdClientTarget(null, uri.getHost(), port, export, reconnect, openTimeout);
    }

    /** {@code unix:PATH[:exportname=NAME]} or {@code HOST:PORT[:exportname=NAME]}, after {@code nbd:}. */
    private static NbdClientTarget parseLegacy(String rest, long reconnect, long openTimeout) {
        String export = "";
        int ex = rest.indexOf(":exportname=");
        if (ex >= 0) {
            export = rest.substring(ex + ":exportname=".length());
            rest = rest.substring(0, ex);
        }
        if (rest.startsWith("unix:")) {
            return new NbdClientTarget(rest.substring(5), null, null, export, reconnect, openTimeout);
        }
        int c = rest.lastIndexOf(':');
        if (c <= 0 || c == rest.length() - 1) {
            throw BlockException.invalid("error parsing address '" + rest + "'");
        }
        return new NbdClientTarget(null, rest.substring(0, c), rest.substring(c + 1), export, reconnect, openTimeout);
    }

    /** The address as QEMU's connect errors name it: the socket path, or {@code HOST:PORT}. */
    String describe() {
        return unixPath != null ? unixPath : host + ":" + port;
    }

    /** The URI QEMU shows as the node's filename. */
    String uri() {
        return unixPath != null ? "nbd+unix:///" + export + "?socket=" + unixPath
                : "nbd://" + host + ":" + port + "/" + export;
    }

    /** A blocking, connected channel (TCP_NODELAY on TCP), or QEMU's connect error. */
    SocketChannel connect() {
        SocketAddress address;
        SocketChannel ch = null;
        try {
            if (unixPath != null) {
                address = UnixDomainSocketAddress.of(Path.of(unixPath));
                ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            } else {
                int p;
                try {
                    p = Integer.parseInt(port);
                } catch (NumberFormatException e) {
                    throw BlockException.invalid("address resolution failed for " + describe() + ": Servname not supported for ai_socktype");
                }
                InetSocketAddress inet = new InetSocketAddress(host, p);
                if (inet.isUnresolved()) {
                    throw BlockException.invalid("address resolution failed for " + describe() + ": Name or service not known");
                }
                address = inet;
                ch = SocketChannel.open(inet.getAddress() instanceof java.net.Inet6Address
                        ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
                ch.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
            }
            ch.connect(address);
            return ch;
        } catch (IOException e) {
            closeQuietly(ch);
            throw new BlockException(BlockException.Kind.IO, "Failed to connect to '" + describe() + "': " + reason(e), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static String reason(IOException e) {
        String m = e.getMessage();
        if (e instanceof java.net.ConnectException && (m == null || m.contains("refused"))) {
            return "Connection refused";
        }
        if (e instanceof UnknownHostException) {
            return "Name or service not known";
        }
        if (m != null && m.contains("No such file")) {
            return "No such file or directory";
        }
        return m == null ? e.getClass().getSimpleName() : m;
    }

    static void closeQuietly(SocketChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to release
            }
        }
    }
}
