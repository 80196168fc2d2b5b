package dev.strata.harness.bench.jobs;

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
 * Times one of QEMU's own block jobs on an image: starts {@code qemu-system-x86_64 -machine none}
 * with a QMP socket, negotiates, starts the job (for jobs that go READY, sends
 * {@code block-job-complete} at READY) and waits for BLOCK_JOB_COMPLETED. Talks QMP with plain
 * strings (Jackson is monitor's alone); single-threaded.
 */
final class QemuJobRunner {

    /** How long one QEMU run may take before it is killed (its jobs take seconds here). */
    private static final long WATCHDOG_SECONDS = 300;


    private QemuJobRunner() {
    }

    /** Nanoseconds from the block-stream command to BLOCK_JOB_COMPLETED. */
    static long timeStream(Path top, Path workDir) throws IOException, InterruptedException {
        return timeJob(top, workDir, "block-stream", "\"device\": \"drive0\"", false);
    }

    /**
     * Nanoseconds from the command to BLOCK_JOB_COMPLETED of job {@code drive0}; the drive is
     * {@code drive0}, {@code arguments} the inside of the command's arguments object.
     *
     * @param completeAtReady send {@code block-job-complete} on BLOCK_JOB_READY (mirror, active commit)
     */
    static long timeJob(Path top, Path workDir, String command, String arguments, boolean completeAtReady)
            throws IOException, InterruptedException {
        return run(List.of("-drive", "file=" + top + ",if=none,id=drive0,format=qcow2"), workDir, command, arguments,
                completeAtReady).ns();
    }

    /** One timed job: wall nanoseconds from the command to BLOCK_JOB_COMPLETED, and QEMU's CPU time in them. */
    record Timed(long ns, long cpuNs) {
    }

    /**
     * The job on {@code top} as a QEMU user runs one on a root node without a device: the qcow2
     * node {@code drive0} over its file node given with {@code -blockdev}, its backing chain
     * opened from the image headers, {@code cache.direct} as asked (inherited by every node).
     */
    static Timed timeOnRootNode(Path top, boolean direct, Path workDir, String command, String arguments,
                                boolean completeAtReady) throws IOException, InterruptedException {
        return run(List.of("-blockdev", "driver=qcow2,node-name=drive0,file.driver=file,file.filename=" + top
                + ",cache.direct=" + (direct ? "on" : "off")), workDir, command, arguments, completeAtReady);
    }

    private static Timed run(List<String> graph, Path workDir, String command, String arguments, boolean completeAtReady)
            throws IOException, InterruptedException {
        Path sock = workDir.resolve("qemu-bench.qmp");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(graph);
        Process qemu = new ProcessBuilder(cmd)
                .redirectErrorStream(true).redirectOutput(workDir.resolve("qemu-bench.log").toFile()).start();
        // a QEMU that never answers (one run never sent its greeting) must fail the run, not hang
        // the benchmark: killing it closes the socket, and the read below reports that
        Thread watchdog = Thread.ofPlatform().daemon().name("qemu-watchdog").start(() -> {
            try {
                if (!qemu.waitFor(WATCHDOG_SECONDS, TimeUnit.SECONDS)) {
                    System.err.println("QEMU did not finish within " + WATCHDOG_SECONDS + " s: killed");
                    qemu.destroyForcibly();
                }
            } catch (InterruptedException e) {
                // the run ended normally
            }
        });
        try (SocketChannel ch = connect(sock, qemu)) {
            StringBuilder in = new StringBuilder();
            readUntil(ch, in, "\"QMP\"");
            send(ch, "{\"execute\": \"qmp_capabilities\"}");
            readUntil(ch, in, "\"return\"");
            in.setLength(0);
            long cpu0 = cpuNs(qemu);
            long start = System.nanoTime();
            send(ch, "{\"execute\": \"" + command + "\", \"arguments\": {" + arguments + "}}");
            readUntil(ch, in, "\"return\"", "\"error\"");
            if (in.indexOf("\"error\"") >= 0) {
                throw new IOException("QEMU refused " + command + ": " + in);
            }
            if (completeAtReady) {
                readUntil(ch, in, "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED");
                send(ch, "{\"execute\": \"block-job-complete\", \"arguments\": {\"device\": \"drive0\"}}");
            }
            readUntil(ch, in, "BLOCK_JOB_COMPLETED");
            long elapsed = System.nanoTime() - start;
            long cpu = cpuNs(qemu) - cpu0;
            if (in.toString().contains("\"error\"")) {
                throw new IOException("QEMU's " + command + " failed: " + in);
            }
            in.setLength(0);
            send(ch, "{\"execute\": \"quit\"}");
            readUntil(ch, in, "\"return\"");
            return new Timed(elapsed, cpu);
        } finally {
            watchdog.interrupt();
            // QEMU's exit is not timed; do not let a slow shutdown stall the next run
            if (!qemu.waitFor(5, TimeUnit.SECONDS)) {
                qemu.destroyForcibly();
            }
        }
    }

    /** The process's user + system CPU time so far (Linux: from /proc), or 0 when the host cannot tell. */
    static long cpuNs(Process p) {
        return p.toHandle().info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
    }

    private static void readUntil(SocketChannel ch, StringBuilder in, String marker) throws IOException {
        readUntil(ch, in, marker, marker);
    }

    private static SocketChannel connect(Path sock, Process qemu) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(sock));
                return ch;
            } catch (IOException e) {
                if (!qemu.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("cannot reach QEMU's QMP socket " + sock + ": " + e.getMessage(), e);
                }
                Thread.sleep(20);
            }
        }
    }

    private static void send(SocketChannel ch, String json) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((json + "\r\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Reads until {@code marker} (or {@code orElse}, e.g. the job ended early with an error) arrives. */
    private static void readUntil(SocketChannel ch, StringBuilder in, String marker, String orElse) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8192);
        while (in.indexOf(marker) < 0 && in.indexOf(orElse) < 0) {
            b.clear();
            if (ch.read(b) < 0) {
                throw new IOException("QEMU closed QMP before '" + marker + "': " + in);
            }
            b.flip();
            in.append(StandardCharsets.UTF_8.decode(b));
        }
    }
}
