package dev.strata.harness.script;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * {@code strata run [--dir DIR] [--quiet] FILE}: runs a scenario script in a working folder
 * (a fresh one next to the script's name unless {@code --dir} is given), echoing every step and
 * its output unless quiet. Exit status 0 when every step passed, 1 otherwise, 2 for usage errors.
 */
public final class ScenarioCommand {

    private ScenarioCommand() {
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Path dir = null;
        boolean quiet = false;
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
                default -> {
                    if (file != null || args[i].startsWith("-")) {
                        err.println("strata run: unexpected argument '" + args[i] + "'; usage: strata run [--dir DIR] [--quiet] FILE");
                        return 2;
                    }
                    file = args[i];
                }
            }
        }
        if (file == null) {
            err.println("strata run: which script? usage: strata run [--dir DIR] [--quiet] FILE");
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
                String base = script.getFileName().toString().replaceFirst("\\.strata$", "");
                dir = Path.of("strata-runs", base + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
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
            result = new ScenarioRunner(file, dir, host, echo).run(steps);
        }
        if (result.passed()) {
            out.println("PASSED " + file + " (" + result.stepsRun() + " steps)");
            return 0;
        }
        err.println("FAILED " + result.failure());
        return 1;
    }
}
