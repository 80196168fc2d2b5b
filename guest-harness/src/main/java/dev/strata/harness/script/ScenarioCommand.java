package dev.strata.harness.script;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code strata run [--dir DIR] [--quiet] [--step] FILE}: runs a scenario script in a working
 * folder (a fresh, unique one under {@code strata-runs/} unless {@code --dir} is given), echoing
 * every step and its output unless quiet. {@code --step} makes the run attended: it stops before
 * each step, shows the line it will run and waits for Enter. Attended runs (and runs on a
 * terminal) draw the running jobs' progress bar while they wait; output to a file or pipe (CI
 * logs) never gets it. Exit status 0 when every step passed, 1 otherwise, 2 for usage errors.
 */
public final class ScenarioCommand {

    private ScenarioCommand() {
    }

    private static final String USAGE = "usage: strata run [--dir DIR] [--quiet] [--step] FILE";

    /** An unattended run (no input): what CI and tests use. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, InputStream.nullInputStream(), out, err, false);
    }

    /**
     * @param in       where an attended run ({@code --step}) reads the instructor's Enter
     * @param terminal whether {@code out} is a terminal (then the progress bar is drawn even without --step)
     */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err, boolean terminal) {
        Path dir = null;
        boolean quiet = false;
        boolean step = false;
        String file = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> {
                    if (++i >= args.length) {
                        err.println("strata run: --dir needs a folder");
                        return 2;
                    }
                    dir = Path.of(args[i]);
                }
                case "--quiet", "-q" -> quiet = true;
                case "--step" -> step = true;
                default -> {
                    if (file != null || args[i].startsWith("-")) {
                        err.println("strata run: unexpected argument '" + args[i] + "'; " + USAGE);
                        return 2;
                    }
                    file = args[i];
                }
            }
        }
        if (step && quiet) {
            err.println("strata run: --step shows each step, --quiet hides them; pick one");
            return 2;
        }
        if (file == null) {
            err.println("strata run: which script? " + USAGE);
            return 2;
        }
        Path script = Path.of(file);
        String text;
        try {
            text = Files.readString(script);
        } catch (IOException e) {
            err.println("strata run: cannot read '" + file + "': " + e.getMessage());
            return 2;
        }
        List<Step> steps;
        try {
            steps = ScriptParser.parse(file, text);
        } catch (ScriptException e) {
            err.println("strata run: " + e.getMessage());
            return 2;
        }
        try {
            if (dir == null) {
                dir = dev.strata.harness.launcher.FreshFolder.create(Path.of("strata-runs"), script.getFileName().toString());
            }
            Files.createDirectories(dir);
            dir = dir.toAbsolutePath();
        } catch (IOException e) {
            err.println("strata run: cannot create the working folder: " + e.getMessage());
            return 2;
        }
        PrintStream echo = quiet ? new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8) : out;
        echo.println("# running " + file + " in " + dir);
        ScenarioRunner.Result result;
        try (MachineScenarioHost host = new MachineScenarioHost(script.getFileName().toString(), echo, err)) {
            ScenarioRunner runner = new ScenarioRunner(file, dir, host, echo);
            if (step) {
                List<String> lines = text.lines().toList();
                runner.attended(new AttendedGate(lines, dir.toString(),
                        new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)), out), new ProgressBar(out));
            } else if (terminal && !quiet) {
                runner.attended(StepGate.NONE, new ProgressBar(out));
            }
            result = runner.run(steps);
        }
        if (result.passed()) {
            out.println("PASSED " + file + " (" + result.stepsRun() + " steps)");
            return 0;
        }
        err.println("FAILED " + result.failure());
        return 1;
    }
}
