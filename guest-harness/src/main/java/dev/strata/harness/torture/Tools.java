package dev.strata.harness.torture;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs QEMU's tools (the oracle) with a time limit and captures their output.
 *
 * <p>Stateless; any thread.
 */
public final class Tools {

    /** A finished tool run. */
    public record Run(int status, String output) {
    }

    private Tools() {
    }

    /** True when {@code qemu-img} and {@code qemu-io} are on the PATH. */
    public static boolean qemuAvailable() {
        try {
            return run(null, "qemu-img", "--version").status() == 0 && run(null, "qemu-io", "--version").status() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs {@code cmd} in {@code dir} (null: current), stdout and stderr together, at most 120 s. */
    public static Run run(Path dir, String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path log = Files.createTempFile("strata-tool", ".out");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": no answer within 120 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        try {
            return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Runs {@code cmd} and fails with its output unless it exits 0. */
    public static String must(Path dir, String... cmd) throws IOException {
        Run r = run(dir, cmd);
        if (r.status() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + r.status() + ": " + r.output().strip());
        }
        return r.output();
    }

    static List<String> list(String... parts) {
        return new ArrayList<>(List.of(parts));
    }
}
