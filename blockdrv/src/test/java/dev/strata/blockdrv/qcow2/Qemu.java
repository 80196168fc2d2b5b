package dev.strata.blockdrv.qcow2;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** The QEMU oracle for qcow2 tests: runs qemu-img / qemu-io and reads images back through Strata. */
public final class Qemu {

    private static Boolean present;

    private Qemu() {
    }

    public record Result(int exit, String output) {
    }

    /** Skips the calling test, loudly, when qemu-img or qemu-io is missing. */
    public static void assumeTools() {
        if (present == null) {
            present = has("qemu-img") && has("qemu-io");
            if (!present) {
                System.err.println("*** WARNING: qemu-img/qemu-io not installed (Debian package qemu-utils):"
                        + " qcow2 interop tests are SKIPPED ***");
            }
        }
        Assumptions.assumeTrue(present, "qemu-img/qemu-io (qemu-utils) not installed: interop test skipped");
    }

    private static boolean has(String tool) {
        try {
            return new ProcessBuilder(tool, "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    public static Result run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", cmd) + " did not finish");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("could not run " + String.join(" ", cmd), e);
        }
    }

    /** qemu-img with the given arguments; fails the test unless it exits 0. */
    public static String img(Object... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("qemu-img");
        for (Object a : args) {
            cmd.add(a.toString());
        }
        Result r = run(cmd.toArray(String[]::new));
        assertEquals(0, r.exit(), () -> String.join(" ", cmd) + " failed:\n" + r.output());
        return r.output();
    }

    /** qemu-io on {@code file} running each command with -c; fails unless all succeed. */
    public static String io(Path file, String... commands) {
        List<String> cmd = new ArrayList<>(List.of("qemu-io"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(file.toString());
        Result r = run(cmd.toArray(String[]::new));
        assertEquals(0, r.exit(), () -> String.join(" ", cmd) + " failed:\n" + r.output());
        if (r.output().contains("error") || r.output().contains("failed")) {
            throw new AssertionError(String.join(" ", cmd) + " reported:\n" + r.output());
        }
        return r.output();
    }

    /** The guest content of {@code image} as QEMU sees it. */
    public static byte[] rawOf(Path image) throws IOException {
        Path raw = image.resolveSibling(image.getFileName() + ".oracle.raw");
        img("convert", "-U", "-O", "raw", image, raw);
        byte[] b = Files.readAllBytes(raw);
        Files.delete(raw);
        return b;
    }

    /** The guest content of {@code image} as Strata reads it (format probed, chain opened read-only). */
    public static byte[] strataRead(Path image) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", image.toString()).with("read-only", "on"));
            ByteBuffer b = ByteBuffer.allocate((int) n.size());
            n.read(0, b);
            return b.array();
        } finally {
            g.closeAll();
        }
    }

    /** {@code qemu-img check --output=human}; returns exit code and text. */
    public static Result check(Path image) {
        return run("qemu-img", "check", image.toString());
    }
}
