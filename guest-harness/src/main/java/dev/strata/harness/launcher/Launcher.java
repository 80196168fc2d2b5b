package dev.strata.harness.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs a machine from a command line (or the demo) until it is told to quit, then shuts it down
 * cleanly. What the process-level pieces are (stdin, stdout, signals) is decided here so that the
 * builder and the machine stay testable in-process.
 *
 * <p>Used from the launcher's main thread; the stdin reader and signal handlers only call
 * {@link StrataMachine#requestQuit}.
 */
public final class Launcher {

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;
    private boolean processMode;

    public Launcher(InputStream in, PrintStream out, PrintStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
    }

    /** Also handle SIGTERM/SIGINT and JVM shutdown; only for the real {@code bin/strata} process. */
    public Launcher processMode(boolean on) {
        this.processMode = on;
        return this;
    }

    /** Parses, builds, runs until quit; returns the exit status. Bad input throws {@link UsageException}. */
    public int runMachine(List<String> args) {
        MachineConfig config = new CommandLineParser().parse(args);
        StrataMachine machine = new MachineBuilder(in, out, err).build(config);
        return runUntilQuit(machine, null);
    }

    /** Creates the demo chain in {@code folder} and runs the demo machine on it. */
    public int runDemo(Path folder) {
        DemoMachine.createChain(folder);
        boolean qmp = Features.monitor();
        boolean guest = Features.guest();
        MachineConfig config = new CommandLineParser().parse(DemoMachine.commandLine(folder, qmp, guest));
        StrataMachine machine = new MachineBuilder(in, out, err).build(config);
        return runUntilQuit(machine, DemoMachine.banner(folder, qmp, guest, Features.monitor()));
    }

    private int runUntilQuit(StrataMachine machine, String banner) {
        Thread hook = null;
        try {
            if (processMode) {
                Signals.onTerminate(machine);
                hook = new Thread(machine::close, "strata-shutdown");
                Runtime.getRuntime().addShutdownHook(hook);
            }
            if (banner != null) {
                out.print(banner);
                out.flush();
            }
            if (!Features.monitor() && machine.config().monitor().kind() == Endpoint.Kind.STDIO) {
                if (banner == null) {
                    err.println("strata: the monitor is not in this build yet; the machine runs until Ctrl-C, Ctrl-D or SIGTERM");
                }
                watchStdin(machine);
            }
            machine.awaitQuit();
            String why = machine.quitReason();
            if (why != null && why.startsWith("terminating")) {
                err.println("strata: " + why);
            }
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } finally {
            machine.close();
            if (hook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // already shutting down: the hook's close() is a no-op after ours
                }
            }
        }
    }

    /**
     * Without a monitor, stdin only serves to end the machine: Ctrl-D quits, as it does at the
     * monitor prompt. Typed lines get an honest answer instead of silence. A virtual thread, so
     * a reader still blocked in stdin never holds the JVM up.
     */
    private void watchStdin(StrataMachine machine) {
        Thread.ofVirtual().name("strata-stdin").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                while (!machine.isQuitRequested()) {
                    String line = r.readLine();
                    if (line == null) {
                        break;
                    }
                    if (!line.isBlank()) {
                        err.println("strata: no monitor in this build yet to run '" + line.strip() + "'; Ctrl-D quits");
                    }
                }
            } catch (IOException e) {
                // stdin gone: same as end of input
            }
            machine.requestQuit("end of input");
        });
    }
}
