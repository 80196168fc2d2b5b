package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.harness.Main;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code -guest script=FILE} runs a scenario on the command line's own machine. */
@Timeout(60)
class GuestScriptOptionTest {

    @TempDir
    Path dir;

    private String run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(args, InputStream.nullInputStream(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return rc + "\n" + out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aScriptDrivesTheMachineAndReportsItsVerdict() throws Exception {
        Path disk = dir.resolve("d.raw");
        try (RandomAccessFile raf = new RandomAccessFile(disk.toFile(), "rw")) {
            raf.setLength(16 << 20);
        }
        Path script = dir.resolve("s.strata");
        Files.writeString(script, """
                guest drive=virtio0,rw=randwrite,bs=4k,iodepth=2,verify=on
                hmp info block
                expect virtio0 .*d.raw \\(raw\\)
                sleep 300ms
                verify
                hmp quit
                """);
        String r = run("-drive", "file=" + disk + ",format=raw,if=virtio", "-monitor", "none", "-guest", "script=" + script);
        assertTrue(r.startsWith("0\n"), r);
        assertTrue(r.contains("scenario " + script + ": PASSED (6 steps)"), r);
    }

    @Test
    void aBadScriptIsAUsageErrorBeforeTheMachineStarts() throws Exception {
        Path script = dir.resolve("bad.strata");
        Files.writeString(script, "echo fine\nfrobnicate\n");
        String r = run("-drive", "file=" + dir.resolve("none.raw") + ",format=raw", "-guest", "script=" + script);
        assertEquals("1", r.substring(0, 1), r);
        assertTrue(r.contains("bad.strata:2: unknown step 'frobnicate'"), r);
    }
}
