package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

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

    /**
     * {@code strata nbd --fork} through the script: the parent exits 0 once the socket serves, the
     * child (another JVM, its pid in {@code --pid-file}) keeps serving a real client, then ends
     * after that client leaves (no {@code -t}) and removes its pid file.
     */
    @Test
    @Timeout(300)
    void nbdForkReturnsOnceTheChildServes(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("qemu-io"), "qemu-io (qemu-utils) is not installed");
        Path img = dir.resolve("d.qcow2");
        dev.strata.blockdrv.DriverRegistry.standard().require("qcow2").create(img, 1 << 20, dev.strata.blockdrv.BlockOptions.empty());
        Path sock = dir.resolve("nbd.sock");
        Path pidFile = dir.resolve("nbd.pid");
        ProcessHandle child = null;
        try {
            Result r = strata("nbd", "--fork", "--pid-file=" + pidFile, "-k", sock.toString(), img.toString());
            assertEquals(0, r.status(), r.err());
            assertTrue(Files.exists(sock), "the socket exists when the parent returns");
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            child = ProcessHandle.of(pid).orElse(null);
            assertTrue(child != null && child.isAlive(), "the child named in the pid file keeps serving");
            Process io = new ProcessBuilder("qemu-io", "-f", "raw", "nbd+unix:///?socket=" + sock, "-c", "write -P 9 0 64k",
                    "-c", "read -P 9 0 64k").redirectErrorStream(true).start();
            String out = new String(io.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(io.waitFor(60, TimeUnit.SECONDS) && io.exitValue() == 0 && !out.contains("verification failed"), out);
            child.onExit().get(60, TimeUnit.SECONDS);
            assertTrue(!Files.exists(pidFile), "the child removes its pid file when it ends");
        } finally {
            if (child != null && child.isAlive()) {
                child.destroy(); // the child this test started
            }
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }
}
