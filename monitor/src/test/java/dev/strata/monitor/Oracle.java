package dev.strata.monitor;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs QEMU's qemu-img / qemu-io, the reference implementation; tests skip loudly without them. */
public final class Oracle {

    private Oracle() {
    }

    public static void requireQemuImg() {
        boolean present = Path.of("/usr/bin/qemu-img").toFile().canExecute() || onPath("qemu-img");
        if (!present) {
            System.err.println("*** SKIPPING: qemu-img (Debian package qemu-utils) is not installed; .ci/run installs it ***");
        }
        assumeTrue(present, "qemu-img (qemu-utils) is not installed");
    }

    /** Skips the test, loudly, when {@code tool} (Debian package {@code pkg}) is missing. */
    public static void requireTool(String tool, String pkg) {
        boolean present = onPath(tool);
        if (!present) {
            System.err.println("*** SKIPPING: " + tool + " (Debian package " + pkg + ") is not installed; .ci/run installs it ***");
        }
        assumeTrue(present, tool + " (" + pkg + ") is not installed");
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Path.of(d, tool).toFile().canExecute()) {
                return true;
            }
        }
        return false;
    }

    /** Runs a command; returns its stdout+stderr; fails on a non-zero exit unless {@code allowFail}. */
    public static String run(boolean allowFail, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(cmd))).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        String s = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0 && !allowFail) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + s);
        }
        return s;
    }

    public static String run(String... cmd) throws IOException, InterruptedException {
        return run(false, cmd);
    }
}
