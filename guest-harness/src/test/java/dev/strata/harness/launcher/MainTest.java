package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.harness.Main;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The dispatch of {@code bin/strata}'s first word, run in-process. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MainTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String stdin, String... args) {
        return Main.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true), new PrintStream(err, true));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void version() {
        assertEquals(0, run("", "--version"));
        assertTrue(out.toString().startsWith("Strata version " + dev.strata.monitor.Version.STRATA), out.toString());
    }

    @Test
    void badOptionIsOneLineAndExitOne() {
        assertEquals(1, run("", "-foo"));
        assertEquals("strata: -foo: invalid option\n", err());
    }

    @Test
    void missingImage() {
        assertEquals(1, run("", "-drive", "file=missing.img"));
        assertEquals("strata: -drive file=missing.img: Could not open 'missing.img': No such file or directory\n", err());
    }

    @Test
    void imgRunsTheImageTool() throws IOException {
        Path img = dir.resolve("x.qcow2");
        assertEquals(0, run("", "img", "create", "-q", "-f", "qcow2", img.toString(), "1M"), err());
        assertEquals(0, run("", "img", "info", img.toString()), err());
        assertTrue(out.toString().contains("file format: qcow2"), out.toString());
        assertTrue(out.toString().contains("virtual size: 1 MiB (1048576 bytes)"), out.toString());
    }

    @Test
    void benchWithoutANameListsTheBenchmarks() {
        assertEquals(1, run("", "bench"));
        assertTrue(err().startsWith("strata: bench: which benchmark? available: "), err());
        assertTrue(err().contains("qcow2") && err().contains("guest-io") && err().contains("stream"), err());
    }

    @Test
    void runGoesToTheScenarioRunner() {
        assertEquals(2, run("", "run"));
        assertEquals("strata run: which script? usage: strata run [--dir DIR] [--quiet] [--step] FILE\n", err());
    }

    @Test
    void benchListsWhatExists() {
        assertEquals(1, run("", "bench", "no-such-bench"));
        assertTrue(err().startsWith("strata: bench: no benchmark named 'no-such-bench'; available: "), err());
        assertEquals(1, err().lines().count());
    }

    @Test
    void benchNamesComeFromClassNames() {
        assertEquals("guest-iops", BenchCatalog.commandName("GuestIopsBench"));
        assertEquals("qcow2-read", BenchCatalog.commandName("Qcow2ReadBench"));
    }

    @Test
    void machineOnStdioEndsAtEndOfInput() throws IOException {
        Path a = dir.resolve("a.img");
        try (RandomAccessFile f = new RandomAccessFile(a.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        assertEquals(0, run("", "-drive", "file=" + a + ",format=raw,if=virtio", "-monitor", "stdio"));
    }
}
