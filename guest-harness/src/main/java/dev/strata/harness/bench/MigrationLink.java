package dev.strata.harness.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where {@link MigrateBench} migrates over: {@code unix} (a unix socket), {@code tcp} (TCP on
 * 127.0.0.1) or {@code shaped} ({@link ShapedLink}: two network namespaces, 1 Gbit/s, 5 ms each
 * way). It starts the destination NBD server for a run and says how a source reaches it and how
 * a source process is started (inside the source namespace on the shaped link).
 *
 * <p>One benchmark thread.
 */
abstract class MigrationLink implements AutoCloseable {

    /** The link cannot be used here (no root for namespaces, say); the benchmark skips it. */
    static final class Unavailable extends Exception {
        Unavailable(String message) {
            super(message);
        }
    }

    /** A destination server running on the link; closing stops it. */
    record Served(Path unixSocket, String host, int port, Process process) implements AutoCloseable {
        /** The {@code server} member of a QMP {@code blockdev-add} of driver {@code nbd}. */
        String serverJson() {
            return unixSocket != null ? "{\"type\": \"unix\", \"path\": \"" + unixSocket + "\"}"
                    : "{\"type\": \"inet\", \"host\": \"" + host + "\", \"port\": \"" + port + "\"}";
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    final String name;
    final Path dir;

    MigrationLink(String name, Path dir) {
        this.name = name;
        this.dir = dir;
    }

    String name() {
        return name;
    }

    static MigrationLink open(String name, Path dir) throws Unavailable, IOException {
        return switch (name) {
            case "unix" -> new Local(name, dir, false);
            case "tcp" -> new Local(name, dir, true);
            case "shaped" -> ShapedLink.open(dir);
            default -> throw new IllegalArgumentException("unknown link " + name);
        };
    }

    /** Starts {@code server} ({@code qemu-nbd} or {@code strata}) exporting {@code image} writable as export "". */
    abstract Served serve(String server, Path image) throws IOException, InterruptedException;

    /** {@code cmd} as started on the source host (unchanged on the local links). */
    List<String> sourceCommand(List<String> cmd) {
        return cmd;
    }

    @Override
    public void close() throws IOException {
    }

    /**
     * The destination server's command line: qemu-nbd's options, which {@code strata nbd} shares
     * ({@code -t} persistent, writable, export name ""); {@code listen} is {@code -k PATH} or
     * {@code -b HOST -p PORT}.
     */
    static List<String> serverCommand(String server, Path image, List<String> listen) {
        List<String> cmd = new ArrayList<>();
        if (server.equals("strata")) {
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(List.of("-XX:+UseZGC", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "dev.strata.harness.Main", "nbd"));
        } else {
            cmd.add("qemu-nbd");
        }
        cmd.addAll(List.of("-t", "-f", "qcow2", "--cache=writeback"));
        cmd.addAll(listen);
        cmd.add(image.toString());
        return cmd;
    }

    /** Waits until {@code ready} holds (the server listens), or fails when the process exits or 30 s pass. */
    static void awaitListening(Process p, java.util.function.BooleanSupplier ready, String what) throws IOException, InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (ready.getAsBoolean()) {
                return;
            }
            if (!p.isAlive()) {
                throw new IOException(what + " exited with status " + p.exitValue() + " before listening");
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IOException(what + " did not listen within 30 s");
    }

    /** Whether a TCP connection to {@code host:port} is accepted (from this process's namespace). */
    static boolean accepts(String host, int port) {
        try (java.net.Socket s = new java.net.Socket(host, port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The unix socket and TCP loopback links: everything runs on this host. */
    private static final class Local extends MigrationLink {
        private final boolean tcp;

        Local(String name, Path dir, boolean tcp) {
            super(name, dir);
            this.tcp = tcp;
        }

        @Override
        Served serve(String server, Path image) throws IOException, InterruptedException {
            if (tcp) {
                int port;
                try (ServerSocket s = new ServerSocket(0)) {
                    port = s.getLocalPort();
                }
                Process p = start(serverCommand(server, image, List.of("-b", "127.0.0.1", "-p", Integer.toString(port))), server);
                awaitListening(p, () -> accepts("127.0.0.1", port), server);
                return new Served(null, "127.0.0.1", port, p);
            }
            Path sock = dir.resolve("dst.sock");
            Files.deleteIfExists(sock);
            Process p = start(serverCommand(server, image, List.of("-k", sock.toString())), server);
            awaitListening(p, () -> Files.exists(sock), server);
            return new Served(sock, null, 0, p);
        }

        private Process start(List<String> cmd, String server) throws IOException {
            return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(server + "-server.log").toFile()).start();
        }
    }
}
