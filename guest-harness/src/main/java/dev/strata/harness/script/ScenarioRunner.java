package dev.strata.harness.script;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Runs a parsed scenario step by step against a {@link ScenarioHost}. {@code $DIR} in any step
 * stands for the run's working folder. The first failing step ends the run; the result says
 * which line failed and why.
 *
 * <p>Not thread safe: one runner runs one script on the caller's thread.
 */
public final class ScenarioRunner {

    /** How a run ended: passed, or the failure message naming the line. */
    public record Result(boolean passed, String failure, int stepsRun) {
    }

    private final String source;
    private final Path dir;
    private final ScenarioHost host;
    private final PrintStream echo;
    private String lastOutput = "";
    private StepGate gate = StepGate.NONE;
    private ProgressBar progress = ProgressBar.NONE;
    private long progressShownAt;

    /**
     * @param echo where to print each step and its output (attended runs), or a quiet stream
     */
    public ScenarioRunner(String source, Path dir, ScenarioHost host, PrintStream echo) {
        this.source = source;
        this.dir = dir;
        this.host = host;
        this.echo = echo;
    }

    /** An attended run: {@code gate} is asked before each step, and waits draw the jobs' progress bar. */
    ScenarioRunner attended(StepGate gate, ProgressBar progress) {
        this.gate = gate;
        this.progress = progress;
        return this;
    }

    public Result run(List<Step> steps) {
        int n = 0;
        try {
            for (Step s : steps) {
                n++;
                if (!gate.beforeStep(s, n, steps.size())) {
                    String msg = source + ":" + s.line() + ": stopped here by the instructor";
                    echo.println("STOPPED " + msg);
                    return new Result(false, msg, n - 1);
                }
                execute(s, null);
            }
            return new Result(true, null, n);
        } catch (ScriptException e) {
            echo.println("FAILED " + e.getMessage());
            return new Result(false, e.getMessage(), n);
        } catch (RuntimeException e) {
            String msg = source + ":" + steps.get(n - 1).line() + ": " + e.getMessage();
            echo.println("FAILED " + msg);
            return new Result(false, msg, n);
        }
    }

    private String x(String text) {
        return text.replace("$DIR", dir.toString());
    }

    private List<String> x(List<String> words) {
        List<String> out = new ArrayList<>(words.size());
        for (String w : words) {
            out.add(x(w));
        }
        return out;
    }

    /** Runs one step; {@code on} names the machine it is addressed to ({@code null}: the first machine). */
    private void execute(Step step, String on) {
        String to = on == null ? "" : "[" + on + "] ";
        switch (step) {
            case Step.Img s -> {
                echo.println("$ strata img " + String.join(" ", x(s.args())));
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
                int rc = host.img(x(s.args()), ps, ps);
                lastOutput = buf.toString(StandardCharsets.UTF_8);
                echo.print(lastOutput);
                if (rc != 0 && !(s.args().get(0).equals("check") && rc == 3)) {
                    fail(s, "strata img " + s.args().get(0) + " exited with status " + rc);
                }
            }
            case Step.Host s -> host(s);
            case Step.Fill s -> fill(s);
            case Step.CheckPattern s -> checkPattern(s);
            case Step.Machine s -> {
                echo.println((s.name() == null ? "" : "[" + s.name() + "] ") + "$ strata " + String.join(" ", x(s.args())));
                host.startMachine(s.name(), x(s.args()));
            }
            case Step.On s -> execute(s.step(), s.machine());
            case Step.Guest s -> {
                echo.println(to + "# guest " + x(s.spec()));
                host.startGuest(on, x(s.spec()));
            }
            case Step.Sleep s -> {
                echo.println("# sleep " + s.duration().toMillis() + " ms");
                long until = System.nanoTime() + s.duration().toNanos();
                while (System.nanoTime() < until) {
                    sleep(Math.max(0, Math.min(20, (until - System.nanoTime()) / 1_000_000)));
                    showProgress();
                }
                progress.clear();
            }
            case Step.Hmp s -> {
                echo.println(to + "(qemu) " + x(s.command()));
                lastOutput = host.hmp(on, x(s.command()));
                echo.print(lastOutput);
                boolean error = looksLikeError(lastOutput);
                if (error != s.expectError()) {
                    fail(s, s.expectError() ? "expected an error, the command succeeded" : "the command failed: " + lastOutput.strip());
                }
            }
            case Step.Qmp s -> {
                echo.println(to + "-> " + x(s.json()));
                lastOutput = host.qmp(on, x(s.json()));
                echo.println(to + "<- " + lastOutput.strip());
                boolean error = lastOutput.contains("\"error\"");
                if (error != s.expectError()) {
                    fail(s, s.expectError() ? "expected a QMP error" : "QMP error: " + lastOutput.strip());
                }
            }
            case Step.WaitJob s -> {
                echo.println(to + "# wait for job " + s.jobId());
                long deadline = System.nanoTime() + s.timeout().toNanos();
                while (host.jobExists(on, s.jobId())) {
                    if (System.nanoTime() > deadline) {
                        progress.clear();
                        fail(s, "job '" + s.jobId() + "' still exists after " + s.timeout().toSeconds() + " s");
                    }
                    sleep(20);
                    showProgress();
                }
                progress.clear();
            }
            case Step.WaitEvent s -> {
                echo.println(to + "# wait for event " + s.event());
                long deadline = System.nanoTime() + s.timeout().toNanos();
                while (!host.events(on).contains(s.event())) {
                    if (System.nanoTime() > deadline) {
                        progress.clear();
                        fail(s, "no " + s.event() + " event within " + s.timeout().toSeconds() + " s");
                    }
                    sleep(20);
                    showProgress();
                }
                progress.clear();
            }
            case Step.Expect s -> {
                boolean found = Pattern.compile(s.regex(), Pattern.MULTILINE).matcher(lastOutput).find();
                if (found == s.negate()) {
                    fail(s, (s.negate() ? "output unexpectedly matches /" : "output does not match /") + s.regex() + "/");
                }
            }
            case Step.Verify s -> {
                echo.println(to + "# verify");
                ScenarioHost.VerifyOutcome v = host.verify(on);
                lastOutput = v.summary();
                echo.println(v.summary());
                if (!v.ok()) {
                    fail(s, "guest verification failed: " + v.summary());
                }
            }
            case Step.Echo s -> echo.println(x(s.text()));
            case Step.Report s -> {
                Path file = dir.resolve(x(s.file()));
                host.writeReport(file);
                echo.println("# report written to " + file);
            }
        }
    }

    /** Redraws the attended run's progress bar, five times a second at most. */
    private void showProgress() {
        if (progress == ProgressBar.NONE || System.nanoTime() - progressShownAt < 200_000_000L) {
            return;
        }
        progressShownAt = System.nanoTime();
        progress.show(host.jobProgressLines());
    }

    /** HMP errors: the common {@code Error: } prefix, parser complaints, and commit's bare 7.2 forms. */
    static boolean looksLikeError(String out) {
        for (String l : out.split("\n")) {
            if (l.startsWith("Error: ") || l.startsWith("unknown command: ") || l.startsWith("Try \"help")
                    || l.startsWith("'commit' error") || l.matches("Device '.*' not found\\s*")) {
                return true;
            }
        }
        return false;
    }

    /** {@code host}: a host program, 120 s at most; its status decides the step, its output feeds {@code expect}. */
    private void host(Step.Host s) {
        List<String> cmd = x(s.args());
        echo.println("$ " + String.join(" ", cmd));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            java.util.concurrent.CompletableFuture<byte[]> out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getInputStream().readAllBytes();
                } catch (java.io.IOException e) {
                    return new byte[0];
                }
            });
            if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(s, cmd.get(0) + " did not finish within 120 s");
            }
            lastOutput = new String(out.join(), StandardCharsets.UTF_8);
            echo.print(lastOutput);
            if (p.exitValue() != 0) {
                fail(s, cmd.get(0) + " exited with status " + p.exitValue());
            }
        } catch (java.io.IOException e) {
            fail(s, "cannot run " + cmd.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(s, "interrupted");
        }
    }

    private void fill(Step.Fill s) {
        Path file = dir.resolve(x(s.file()));
        echo.println("# fill " + file.getFileName() + " with 0x" + Integer.toHexString(s.pattern()) + " at "
                + s.offset() + " for " + s.length() + " bytes");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", file.toString()));
            byte[] chunk = new byte[(int) Math.min(s.length(), 1 << 20)];
            java.util.Arrays.fill(chunk, (byte) s.pattern());
            for (long pos = 0; pos < s.length(); pos += chunk.length) {
                int len = (int) Math.min(chunk.length, s.length() - pos);
                n.write(s.offset() + pos, ByteBuffer.wrap(chunk, 0, len));
            }
            n.flush();
        } finally {
            g.closeAll();
        }
    }

    private void checkPattern(Step.CheckPattern s) {
        Path file = dir.resolve(x(s.file()));
        echo.println("# check that " + file.getFileName() + " reads 0x" + Integer.toHexString(s.pattern()) + " at "
                + s.offset() + " for " + s.length() + " bytes");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", file.toString()).with("read-only", "on"));
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(s.length(), 1 << 20));
            for (long pos = 0; pos < s.length(); pos += buf.capacity()) {
                int len = (int) Math.min(buf.capacity(), s.length() - pos);
                buf.clear().limit(len);
                n.read(s.offset() + pos, buf);
                for (int i = 0; i < len; i++) {
                    if ((buf.get(i) & 0xff) != s.pattern()) {
                        fail(s, "byte at offset " + (s.offset() + pos + i) + " of " + file.getFileName() + " is 0x"
                                + Integer.toHexString(buf.get(i) & 0xff) + ", expected 0x" + Integer.toHexString(s.pattern()));
                    }
                }
            }
        } finally {
            g.closeAll();
        }
    }

    private void fail(Step s, String why) {
        throw new ScriptException(source, s.line(), why);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
