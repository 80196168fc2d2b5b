package dev.strata.harness.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One migration's source, QEMU 7.2 ({@code qemu-system-x86_64 -machine none}) or a Strata machine,
 * each its own process driven over QMP with the same commands: the disk as drive {@code drive0}
 * and a warm-up disk {@code warm} of the same size, {@code blockdev-add} of the destination as
 * {@code nbd} node {@code remote}; an untimed warm-up mirror of {@code warm} onto it (a few MiB:
 * connects, JIT for Strata) cancelled at READY; then the timed {@code blockdev-mirror sync=full}
 * of {@code drive0}, from the command to BLOCK_JOB_READY, and {@code block-job-cancel} (the
 * source keeps its disk; sync=full onto an existing node rewrites everything the warm-up wrote).
 * QMP is spoken with plain strings (no JSON library outside the monitor). One benchmark thread.
 */
final class QmpMirror {

    private static final long WATCHDOG_SECONDS = 1200;

    private QmpMirror() {
    }

    /** Nanoseconds from {@code blockdev-mirror} of {@code top} to BLOCK_JOB_READY. */
    static long toReady(String source, MigrationLink link, MigrationLink.Served dst, Path top, Path warm, Path dir)
            throws IOException, InterruptedException {
        Path sock = dir.resolve(source + "-source.qmp");
        Files.deleteIfExists(sock);
        String qmp = "unix:" + sock + ",server=on,wait=off";
        List<String> drives = List.of("-drive", "file=" + top + ",if=none,id=drive0,format=qcow2",
                "-drive", "file=" + warm + ",if=none,id=warm,format=qcow2");
        List<String> cmd = new ArrayList<>();
        if (source.equals("qemu")) {
            cmd.addAll(List.of("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none", "-qmp", qmp));
        } else {
            cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseZGC",
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.strata.harness.Main",
                    "-monitor", "none", "-qmp", qmp));
        }
        cmd.addAll(drives);
        Process p = new ProcessBuilder(link.sourceCommand(cmd)).redirectErrorStream(true)
                .redirectOutput(dir.resolve(source + "-source.log").toFile()).start();
        Thread watchdog = Thread.ofPlatform().daemon().name("migrate-watchdog").start(() -> {
            try {
                if (!p.waitFor(WATCHDOG_SECONDS, TimeUnit.SECONDS)) {
                    System.err.println(source + " did not finish within " + WATCHDOG_SECONDS + " s: killed");
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                // the run ended normally
            }
        });
        try (SocketChannel ch = connect(sock, p)) {
            StringBuilder in = new StringBuilder();
            readUntil(ch, in, "\"QMP\"");
            command(ch, in, "qmp_capabilities", "");
            command(ch, in, "blockdev-add", "\"driver\": \"nbd\", \"node-name\": \"remote\", \"export\": \"\", \"server\": "
                    + dst.serverJson());
            mirrorToReady(ch, in, "warm");
            cancel(ch, in, "warm");
            long start = System.nanoTime();
            mirrorToReady(ch, in, "drive0");
            long ns = System.nanoTime() - start;
            cancel(ch, in, "drive0");
            send(ch, "{\"execute\": \"quit\"}");
            return ns;
        } finally {
            watchdog.interrupt();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    static void mirrorToReady(SocketChannel ch, StringBuilder in, String device) throws IOException {
        command(ch, in, "blockdev-mirror", "\"job-id\": \"" + device + "\", \"device\": \"" + device
                + "\", \"target\": \"remote\", \"sync\": \"full\"");
        readUntil(ch, in, "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED");
        if (in.indexOf("BLOCK_JOB_READY") < 0) {
            throw new IOException("the mirror of " + device + " ended before READY: " + in);
        }
        in.setLength(0);
    }

    static void cancel(SocketChannel ch, StringBuilder in, String device) throws IOException {
        command(ch, in, "block-job-cancel", "\"device\": \"" + device + "\"");
        readUntil(ch, in, "BLOCK_JOB_COMPLETED");
        int at = in.indexOf("BLOCK_JOB_COMPLETED");
        if (in.indexOf("\"error\"", at) >= 0) {
            throw new IOException("the mirror of " + device + " failed: " + in);
        }
        in.setLength(0);
    }

    /** Sends a command and waits for its return; an error reply fails. Events read meanwhile stay in {@code in}. */
    static void command(SocketChannel ch, StringBuilder in, String name, String arguments) throws IOException {
        send(ch, "{\"execute\": \"" + name + "\"" + (arguments.isEmpty() ? "" : ", \"arguments\": {" + arguments + "}") + "}");
        int from = in.length();
        while (true) {
            int r = in.indexOf("\"return\"", from);
            int e = in.indexOf("{\"error\"", from);
            if (e >= 0 && (r < 0 || e < r)) {
                throw new IOException(name + " failed: " + in.substring(e));
            }
            if (r >= 0) {
                // keep events, drop the reply
                int end = in.indexOf("\n", r);
                in.delete(in.lastIndexOf("{", r), end < 0 ? in.length() : end + 1);
                return;
            }
            readMore(ch, in);
        }
    }

    static SocketChannel connect(Path sock, Process p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(sock));
                return ch;
            } catch (IOException e) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("cannot reach the source's QMP socket " + sock + ": " + e.getMessage(), e);
                }
                Thread.sleep(20);
            }
        }
    }

    static void send(SocketChannel ch, String json) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((json + "\r\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    static void readUntil(SocketChannel ch, StringBuilder in, String marker) throws IOException {
        readUntil(ch, in, marker, marker);
    }

    static void readUntil(SocketChannel ch, StringBuilder in, String marker, String orElse) throws IOException {
        while (in.indexOf(marker) < 0 && in.indexOf(orElse) < 0) {
            readMore(ch, in);
        }
    }

    static void readMore(SocketChannel ch, StringBuilder in) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8192);
        if (ch.read(b) < 0) {
            throw new IOException("the source closed QMP: " + in);
        }
        b.flip();
        in.append(StandardCharsets.UTF_8.decode(b));
    }
}
