package dev.strata.harness.launcher;

import dev.strata.harness.script.MachineScenarioHost;
import dev.strata.harness.script.ScenarioRunner;
import dev.strata.harness.script.ScriptException;
import dev.strata.harness.script.ScriptParser;
import dev.strata.harness.script.Step;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code -guest script=FILE}: scenario scripts that run on the machine the command line builds,
 * in the background, while the monitor stays usable. Each script's steps are echoed above the
 * prompt; its verdict ({@code PASSED}/{@code FAILED …}) is printed when it ends. The scripts are
 * parsed before the machine starts, so a bad script is a usage error (exit 1) like a bad option.
 */
final class GuestScripts {

    private record Script(Path file, List<Step> steps) {
    }

    private final List<String> remaining;
    private final List<Script> scripts;
    private final List<Thread> running = new ArrayList<>();

    private GuestScripts(List<String> remaining, List<Script> scripts) {
        this.remaining = remaining;
        this.scripts = scripts;
    }

    /** Takes {@code -guest script=FILE} pairs out of {@code args} and parses their files. */
    static GuestScripts extract(List<String> args) {
        List<String> rest = new ArrayList<>();
        List<Script> scripts = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if ((a.equals("-guest") || a.equals("--guest")) && i + 1 < args.size() && args.get(i + 1).startsWith("script=")
                    && !args.get(i + 1).contains(",")) {
                String file = args.get(++i).substring("script=".length());
                String typed = a + " " + args.get(i);
                try {
                    scripts.add(new Script(Path.of(file), ScriptParser.parse(file, Files.readString(Path.of(file)))));
                } catch (IOException e) {
                    throw new UsageException(typed, "cannot read '" + file + "': " + e.getMessage());
                } catch (ScriptException e) {
                    throw new UsageException(typed, e.getMessage());
                }
            } else {
                rest.add(a);
            }
        }
        return new GuestScripts(rest, scripts);
    }

    List<String> remainingArgs() {
        return remaining;
    }

    /** Starts each script on its own virtual thread; {@code $DIR} is the script's own folder. */
    void startOn(StrataMachine machine, PrintStream out, PrintStream err) {
        for (Script s : scripts) {
            running.add(Thread.ofVirtual().name("strata-guest-script").start(() -> {
                Path dir = s.file().toAbsolutePath().getParent();
                MachineScenarioHost host = MachineScenarioHost.attachedTo(machine, s.file().getFileName().toString(), out, err);
                PrintStream echo = new PrintStream(new AsyncLines(machine), true, java.nio.charset.StandardCharsets.UTF_8);
                ScenarioRunner.Result r = new ScenarioRunner(s.file().toString(), dir, host, echo).run(s.steps());
                host.close();
                String verdict = r.passed()
                        ? "scenario " + s.file() + ": PASSED (" + r.stepsRun() + " steps)"
                        : "scenario " + s.file() + ": FAILED " + r.failure();
                machine.monitor().events().printAsync(verdict);
                out.println(verdict);
            }));
        }
    }

    /** After quit: lets scripts that are still finishing print their verdict (bounded). */
    void awaitEnd() {
        for (Thread t : running) {
            try {
                t.join(java.time.Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Turns what a script echoes into lines printed above the monitor prompt. */
    private static final class AsyncLines extends java.io.OutputStream {
        private final StrataMachine machine;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        AsyncLines(StrataMachine machine) {
            this.machine = machine;
        }

        @Override
        public void write(int b) {
            if (b == '\n') {
                machine.monitor().events().printAsync(line.toString(java.nio.charset.StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b);
            }
        }
    }
}
