package dev.strata.harness.launcher;

import java.io.InputStream;
import java.io.PrintStream;
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

    /** Exit status when the guest's verification found damaged data. */
    public static final int EXIT_VERIFY_FAILED = 3;

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
        GuestScripts scripts = GuestScripts.extract(args);
        MachineConfig config = new CommandLineParser().parse(scripts.remainingArgs());
        MachineBuilder builder = new MachineBuilder(in, out, err);
        StrataMachine machine = builder.build(config);
        scripts.startOn(machine, out, err);
        int rc = runUntilQuit(builder, machine, null);
        scripts.awaitEnd();
        return rc;
    }

    /** Creates the demo chain in {@code folder} and runs the demo machine on it. */
    public int runDemo(Path folder) {
        DemoMachine.createChain(folder);
        MachineConfig config = new CommandLineParser().parse(DemoMachine.commandLine(folder));
        MachineBuilder builder = new MachineBuilder(in, out, err);
        return runUntilQuit(builder, builder.build(config), DemoMachine.banner(folder));
    }

    private int runUntilQuit(MachineBuilder builder, StrataMachine machine, String banner) {
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
            builder.startFrontEnds(machine);
            machine.awaitQuit();
            String why = machine.quitReason();
            if (why != null && why.startsWith("terminating")) {
                err.println("strata: " + why);
            }
            machine.close();
            return machine.verifyFailed() ? EXIT_VERIFY_FAILED : 0;
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
}
