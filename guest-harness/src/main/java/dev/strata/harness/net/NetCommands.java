package dev.strata.harness.net;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code ip}/{@code tc} and similar short commands with a time limit.
 *
 * <p>Stateless; any thread.
 */
final class NetCommands {

    /** A finished command: exit status and stdout+stderr. */
    record Result(int status, String output) {
        boolean ok() {
            return status == 0;
        }
    }

    private NetCommands() {
    }

    /** Runs {@code cmd}; a command that cannot start is status 127 with the reason as output. */
    static Result run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(124, String.join(" ", cmd) + ": no answer within 30 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            return new Result(127, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(130, "interrupted");
        }
    }

    static Result run(String... cmd) {
        return run(List.of(cmd));
    }

    /** Runs {@code cmd} and throws with its output unless it exits 0. */
    static String must(String... cmd) throws IOException {
        Result r = run(cmd);
        if (!r.ok()) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.status() + "): " + r.output());
        }
        return r.output();
    }
}
