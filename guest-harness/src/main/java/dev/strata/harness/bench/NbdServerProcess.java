package dev.strata.harness.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One NBD server under test, run as its own process on a unix socket: Strata ({@code strata nbd}),
 * {@code qemu-nbd}, QEMU's built-in server ({@code qemu-system-x86_64 -machine none} driven over
 * QMP: {@code nbd-server-start} + {@code block-export-add}) or {@code nbdkit memory}. Its CPU time
 * is read from {@code /proc}. One benchmark thread.
 */
final class NbdServerProcess implements AutoCloseable {

    enum Kind {
        STRATA("strata"), QEMU_NBD("qemu-nbd"), QEMU("qemu"), NBDKIT("nbdkit-memory");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux

    final Kind kind;
    final Path socket;
    private final Process process;

    private NbdServerProcess(Kind kind, Path socket, Process process) {
        this.kind = kind;
        this.socket = socket;
        this.process = process;
    }

    String uri() {
        return "nbd+unix:///?socket=" + socket;
    }

    static NbdServerProcess start(Kind kind, Path image, long size, Path dir) throws IOException, InterruptedException {
        Path sock = dir.resolve(kind.label + ".sock");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>();
        Path qmp = dir.resolve("qmp.sock");
        switch (kind) {
            case STRATA -> {
                cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
                cmd.addAll(List.of("-XX:+UseZGC", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                        "dev.strata.harness.Main", "nbd", "-t", "-f", "qcow2", "-k", sock.toString(), image.toString()));
            }
            case QEMU_NBD -> cmd.addAll(List.of("qemu-nbd", "-t", "-f", "qcow2", "-k", sock.toString(), image.toString()));
            case QEMU -> {
                Files.deleteIfExists(qmp);
                cmd.addAll(List.of("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                        "-qmp", "unix:" + qmp + ",server=on,wait=off", "-blockdev",
                        "driver=qcow2,node-name=d0,file.driver=file,file.filename=" + image.toString().replace(",", ",,")));
            }
            case NBDKIT -> cmd.addAll(List.of("nbdkit", "-f", "-U", sock.toString(), "memory", String.valueOf(size)));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(kind.label + ".log").toFile()).start();
        NbdServerProcess s = new NbdServerProcess(kind, sock, p);
        try {
            if (kind == Kind.QEMU) {
                waitFor(qmp, p);
                qmp(qmp, "{\"execute\":\"qmp_capabilities\"}",
                        "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + sock + "\"}}}}",
                        "{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"nbd\",\"id\":\"e\",\"node-name\":\"d0\",\"name\":\"\",\"writable\":true}}");
            }
            waitFor(sock, p);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private static void waitFor(Path sock, Process p) throws IOException, InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (Files.exists(sock)) {
                return;
            }
            if (!p.isAlive()) {
                throw new IOException("server exited with status " + p.exitValue() + " before creating " + sock);
            }
            Thread.sleep(50);
        }
        throw new IOException("server did not create " + sock + " within 30 s");
    }

    /** Sends QMP commands one by one, each waiting for its reply; an error reply fails. */
    private static void qmp(Path sock, String... commands) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            Writer out = new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8);
            in.readLine(); // greeting
            for (String c : commands) {
                out.write(c + "\n");
                out.flush();
                String line;
                do {
                    line = in.readLine();
                    if (line == null) {
                        throw new IOException("QEMU closed QMP");
                    }
                } while (line.contains("\"event\""));
                if (line.contains("\"error\"")) {
                    throw new IOException("QMP " + c + ": " + line);
                }
            }
        }
    }

    /** CPU seconds (user + system) the server process has used so far. */
    double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
