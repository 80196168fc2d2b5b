package dev.strata.blockdrv.img;

import dev.strata.blockdrv.BlockException;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * {@code strata img}: the subset of {@code qemu-img} a lab needs to build and inspect chains
 * without QEMU installed ({@code create}, {@code info}, {@code map}, {@code convert},
 * {@code check}, {@code compare}). Words, output and exit codes follow qemu-img 7.2; errors are
 * prefixed {@code strata img:} instead of {@code qemu-img:}.
 *
 * <p>Each call is independent and uses only its own objects: safe from any thread.
 */
public final class ImgTool {

    static final String PROG = "strata img";

    private ImgTool() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one sub-command; returns the exit status qemu-img would return. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(PROG + ": Not enough arguments");
            err.println("Try '" + PROG + " --help' for more information");
            return 1;
        }
        String cmd = args[0];
        Command c = switch (cmd) {
            case "create" -> new CreateCommand();
            case "info" -> new InfoCommand();
            case "map" -> new MapCommand();
            case "convert" -> new ConvertCommand();
            case "check" -> new CheckCommand();
            case "compare" -> new CompareCommand();
            case "-h", "--help", "help" -> null;
            default -> {
                err.println(PROG + ": Command not found: " + cmd);
                yield null;
            }
        };
        if (c == null) {
            if (cmd.equals("-h") || cmd.equals("--help") || cmd.equals("help")) {
                out.print(usage());
                return 0;
            }
            return 1;
        }
        try {
            return c.run(Arrays.copyOfRange(args, 1, args.length), out, err);
        } catch (Args.UsageException e) {
            err.println(PROG + ": " + e.getMessage());
            err.println("Try '" + PROG + " --help' for more information");
            return 1;
        } catch (BlockException e) {
            err.println(PROG + ": " + e.getMessage());
            return c.errorExit();
        } catch (RuntimeException e) {
            // a bug in Strata, not in the user's input: still one line, never a stack trace
            err.println(PROG + ": internal error: " + e);
            return c.errorExit();
        }
    }

    static String usage() {
        return """
                usage: strata img [command] [command options]
                Strata's image tool, a subset of qemu-img with its words and output.

                Command syntax:
                  create [-q] [-f fmt] [-b backing_file -F backing_fmt] [-u] [-o options] filename [size]
                  info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename
                  map [-f fmt] [--output=ofmt] [-U] filename
                  convert [-c] [-q] [-p] [-n] [-U] [-f fmt] [-O output_fmt] [-o options] filename output_filename
                  check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-U] filename
                  compare [-f fmt] [-F fmt] [-q] [-s] [-U] filename1 filename2

                Formats: qcow2 (versions 2 and 3; writing version 3), raw.
                See docs/img.md for details.
                """;
    }

    /** One sub-command. */
    interface Command {
        int run(String[] args, PrintStream out, PrintStream err);

        /** Exit status for a failure that stops the command (qemu-img: 1; compare: 2). */
        default int errorExit() {
            return 1;
        }
    }
}
