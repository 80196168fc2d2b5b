package dev.strata.harness;

import dev.strata.harness.img.ImgTool;
import dev.strata.harness.launcher.BenchCatalog;
import dev.strata.harness.launcher.DemoMachine;
import dev.strata.harness.launcher.Launcher;
import dev.strata.harness.launcher.UsageException;
import dev.strata.monitor.Version;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * Entry point of {@code bin/strata}. The first word picks what runs: {@code --version},
 * {@code img ...} (the image tool), {@code nbd ...} (qemu-nbd), {@code bench NAME ...} (a benchmark program),
 * {@code run FILE} (scenario scripts), no words at all (the demo machine), or else a
 * QEMU-style machine command line.
 *
 * <p>Called once, from the process's main thread (tests call {@link #run} in-process).
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err, true));
    }

    /** Runs one command line in-process (no signal handling); returns the exit status. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        return run(args, in, out, err, false);
    }

    private static int run(String[] args, InputStream in, PrintStream out, PrintStream err, boolean process) {
        try {
            if (args.length == 0) {
                return new Launcher(in, out, err).processMode(process).runDemo(DemoMachine.defaultFolder());
            }
            return switch (args[0]) {
                case "--version", "-version" -> {
                    out.println("Strata version " + Version.STRATA + " (QEMU " + Version.qemu() + " compatible block layer and monitor)");
                    yield 0;
                }
                case "--help", "-help", "-h" -> {
                    usage(out);
                    yield 0;
                }
                case "img" -> ImgTool.run(Arrays.copyOfRange(args, 1, args.length), out, err);
                case "nbd" -> dev.strata.harness.launcher.NbdTool.run(Arrays.copyOfRange(args, 1, args.length), out, err, process);
                case "bench" -> bench(Arrays.copyOfRange(args, 1, args.length), out, err);
                case "run" -> dev.strata.harness.script.ScenarioCommand.run(Arrays.copyOfRange(args, 1, args.length), in, out, err,
                        process && stdoutIsTerminal());
                default -> new Launcher(in, out, err).processMode(process).runMachine(Arrays.asList(args));
            };
        } catch (UsageException e) {
            err.println(e.line());
            return 1;
        } catch (RuntimeException e) {
            // a bug, not bad input: still one line for the user; STRATA_DEBUG=1 shows where
            err.println("strata: internal error: " + e);
            if (System.getenv("STRATA_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /**
     * Whether standard output is a terminal: {@code Console.isTerminal()} where the running JDK has
     * it (22+; from then on a console exists even when output is redirected), else a console at all.
     */
    private static boolean stdoutIsTerminal() {
        java.io.Console c = System.console();
        if (c == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }

    private static int bench(String[] args, PrintStream out, PrintStream err) {
        BenchCatalog catalog = new BenchCatalog(Main.class.getClassLoader());
        if (args.length == 0) {
            var all = catalog.available();
            err.println("strata: bench: which benchmark? available: "
                    + (all.isEmpty() ? "none in this build" : String.join(", ", all.keySet())));
            return 1;
        }
        return catalog.run(args[0], Arrays.copyOfRange(args, 1, args.length), err);
    }

    private static void usage(PrintStream out) {
        out.println("""
                usage: strata                      start the demo machine (a qcow2 chain, a guest, the monitor)
                       strata [options]            start a machine from QEMU-style options:
                         -drive file=F[,format=][,if=virtio|ide|none][,id=][,node-name=][,cache=][,readonly=on]
                         -blockdev JSON|key=value  -device virtio-blk-pci|ide-hd,drive=ID[,id=]
                         -monitor stdio|unix:PATH,server=on,wait=off|none  -qmp unix:PATH,server=on,wait=off
                         -S  -name NAME  -guest drive=ID,rw=randrw,bs=4k,iodepth=8[,runtime=S][,verify=on]
                       strata img COMMAND ...      the image tool (qemu-img's commands)
                       strata nbd [OPTIONS] FILE   serve an image over NBD (qemu-nbd's options; --help)
                       strata bench NAME [args]    run a benchmark program
                       strata run [--dir DIR] [--step] FILE  run a scenario script (--step: pause before each step)
                       strata --version
                See docs/user-guide.md.""");
    }
}
