package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The real {@code bin/strata} script (JDK discovery, exec, exit status), run on the classes this
 * test run already has: STRATA_SKIP_BUILD keeps the script from starting a Maven build inside the
 * running reactor. Everything else about the launcher is tested in-process.
 */
class LauncherScriptTest {

    private static Path script() {
        return Path.of(System.getProperty("strata.repo.root", "..")).toAbsolutePath().normalize().resolve("bin/strata");
    }

    private record Result(int status, String out, String err) {
    }

    private static Result strata(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(script().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("STRATA_SKIP_BUILD", "1");
        pb.environment().put("STRATA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path o = Files.createTempFile("strata-out", ".txt");
        Path e = Files.createTempFile("strata-err", ".txt");
        pb.redirectOutput(o.toFile());
        pb.redirectError(e.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("bin/strata " + String.join(" ", args) + " did not finish in 120 s");
        }
        Result r = new Result(p.exitValue(), Files.readString(o, StandardCharsets.UTF_8), Files.readString(e, StandardCharsets.UTF_8));
        Files.delete(o);
        Files.delete(e);
        return r;
    }

    @Test
    @Timeout(300)
    void versionAndMissingImageThroughTheScript() throws Exception {
        Result v = strata("--version");
        assertEquals(0, v.status(), v.err());
        assertTrue(v.out().startsWith("Strata version "), v.out());

        Result m = strata("-drive", "file=missing.img");
        assertEquals(1, m.status());
        assertEquals("strata: -drive file=missing.img: Could not open 'missing.img': No such file or directory\n", m.err());
    }
}
