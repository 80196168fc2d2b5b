package dev.strata.harness.img;

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
        if (asksForHelp(args)) {
            out.print(usage());
            return 0;
        }
        try {
            return c.run(Arrays.copyOfRange(args, 1, args.length), out, err);
        } catch (ImgOptions.UsageException e) {
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

    /**
     * The help text. qemu-img 7.2 prints one text for {@code --help} and for {@code CMD --help}
     * alike; this is that text cut to what Strata has: the same layout, the syntax line of each
     * command Strata implements with exactly the options it acts on (in qemu-img's order and
     * words), the parameter notes that apply, and Strata's own formats.
     */
    static String usage() {
        return """
                usage: strata img [standard options] command [command options]
                Strata disk image utility (the qemu-img 7.2 commands Strata implements)

                    '-h', '--help'       display this help and exit

                Command syntax:
                  check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-U] filename
                  compare [-f fmt] [-F fmt] [-q] [-s] [-U] filename1 filename2
                  convert [-U] [-c] [-p] [-q] [-n] [-f fmt] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] filename output_filename
                  create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]
                  info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename
                  map [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] filename

                Command parameters:
                  'filename' is a disk image filename
                  'fmt' is the disk image format. It is guessed automatically in most cases
                  'size' is the disk image size in bytes. Optional suffixes
                    'k' or 'K' (kilobyte, 1024), 'M' (megabyte, 1024k), 'G' (gigabyte, 1024M),
                    'T' (terabyte, 1024G), 'P' (petabyte, 1024T) and 'E' (exabyte, 1024P)  are
                    supported. 'b' is ignored.
                  'output_filename' is the destination disk image filename
                  'output_fmt' is the destination format
                  'options' is a comma separated list of format specific options in a
                    name=value format (docs/img.md lists the qcow2 ones Strata acts on)
                  '-c' indicates that target image must be compressed (qcow format only)
                  '-u' allows unsafe backing chains. For image creation, allow creating
                       without attempting to open the backing file.
                  '-h' with or without a command shows this help and lists the supported formats
                  '-p' show progress of command (only certain commands)
                  '-q' use Quiet mode - do not print any output (except errors)
                  '--output' takes the format in which the output must be done (human or json)
                  '-n' skips the target volume creation (useful if the volume is created
                       prior to running strata img)

                Parameters to check subcommand:
                  '-r' tries to repair any inconsistencies that are found during the check.
                       '-r leaks' repairs only cluster leaks, whereas '-r all' fixes all
                       kinds of errors, with a higher risk of choosing the wrong fix or
                       hiding corruption that has already occurred.

                Parameters to compare subcommand:
                  '-f' first image format
                  '-F' second image format
                  '-s' run in Strict mode - fail on different image size or sector allocation

                Accepted for qemu-img compatibility, without effect in Strata:
                  convert -t cache, -T src_cache, -S sparse_size, -m num_coroutines, -W;
                  check -T src_cache; compare -T src_cache, -p

                Supported formats: fault-injection file null-co qcow2 raw

                See docs/img.md for what each command does and how it differs from qemu-img.
                """;
    }

    /** qemu-img's getopt stops at {@code -h}/{@code --help} anywhere before {@code --}: help, exit 0. */
    private static boolean asksForHelp(String[] args) {
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--")) {
                return false;
            }
            if (args[i].equals("-h") || args[i].equals("--help")) {
                return true;
            }
        }
        return false;
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
