package dev.strata.monitor;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.device.RunState;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders {@code docs/commands.md} from the registry, so the reference can never drift from the
 * commands: every QMP command with its arguments and HMP form, every HMP command with its
 * syntax. A test compares the file with this output (and rewrites it on request).
 *
 * <p>Stateless; any thread.
 */
public final class CommandReference {

    /** How to regenerate, printed by the staleness test. */
    public static final String REGENERATE =
            ". bin/java-env && mvn -B -q -pl monitor -am test -Dtest=CommandReferenceTest -Dstrata.regenerate=true -Dsurefire.failIfNoSpecifiedTests=false";

    private CommandReference() {
    }

    /** The reference for a monitor with every built-in command and every command module on the class path. */
    public static String render() {
        BlockGraph graph = new BlockGraph();
        Machine bare = new Machine() {
            public BlockGraph graph() {
                return graph;
            }

            public RunState runState() {
                return RunState.PRELAUNCH;
            }

            public void stop() {
            }

            public void cont() {
            }

            public void quit() {
            }
        };
        return render(Monitor.create(bare).registry());
    }

    static String render(CommandRegistry r) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Monitor command reference\n\n");
        sb.append("Generated from the command registry (`dev.strata.monitor.CommandReference`); do not edit by hand.\n");
        sb.append("A test fails when this file is stale; regenerate it with\n\n");
        sb.append("    ").append(REGENERATE).append("\n\n");
        sb.append("How to connect and how the two monitors behave: [monitor.md](monitor.md).\n\n");
        sb.append("## QMP commands\n\n");
        sb.append("Arguments: `name` type, `?` = optional. Types follow QAPI: `str`, `int`, `bool`, an enum's values.\n\n");
        sb.append("| Command | Arguments | HMP form | What it does |\n|---|---|---|---|\n");
        for (Command c : r.qmpCommands()) {
            if (c.isStrataOwn()) {
                continue;
            }
            String args = c.params().isEmpty() ? "—" : c.params().stream().map(Param::describe).collect(Collectors.joining(", "));
            String hmp = c.hasHmp() ? "`" + c.hmpName() + "`" : "—";
            sb.append("| `").append(c.name()).append("` | ").append(cell(args)).append(" | ").append(cell(hmp)).append(" | ")
                    .append(cell(c.help())).append(" |\n");
        }
        sb.append("\n## HMP commands\n\n");
        sb.append("Syntax as `help` prints it; `args_type` is QEMU's argument grammar (`B` drive or node, `s` word or\n");
        sb.append("double-quoted string, `o` size with MiB default, `-x` flag before the positionals, `?` optional).\n\n");
        sb.append("| Command | Syntax | args_type | QMP command | What it does |\n|---|---|---|---|---|\n");
        List<Command> hmp = new java.util.ArrayList<>(r.hmpCommands());
        for (Command c : r.infoCommands()) {
            hmp.add(c);
        }
        hmp.removeIf(Command::isStrataOwn);
        hmp.sort(java.util.Comparator.comparing(Command::hmpName));
        for (Command c : hmp) {
            sb.append("| `").append(cell(c.hmpName())).append("` | `").append(cell((c.hmpShortName().split("\\|")[0] + " " + c.hmpParams()).trim()))
                    .append("` | `").append(cell(c.argsType().isEmpty() ? "-" : c.argsType())).append("` | ")
                    .append(c.hasQmp() ? "`" + c.name() + "`" : "—").append(" | ").append(cell(c.hmpHelp())).append(" |\n");
        }
        strataOwn(r, sb);
        return sb.toString();
    }

    /** Commands QEMU does not have: the tables above list only QEMU's, so a lab written for QEMU never uses these. */
    private static void strataOwn(CommandRegistry r, StringBuilder sb) {
        sb.append("\n## Strata's own commands\n\n");
        sb.append("Not part of QEMU: commands for watching a machine work. `help` marks them `[Strata's own]`;\n");
        sb.append("their QMP names start with `x-strata-`.\n\n");
        sb.append("| HMP form | Syntax | QMP command | Arguments | What it does |\n|---|---|---|---|---|\n");
        List<Command> own = new java.util.ArrayList<>();
        for (Command c : r.qmpCommands()) {
            if (c.isStrataOwn()) {
                own.add(c);
            }
        }
        for (Command c : r.infoCommands()) {
            if (c.isStrataOwn() && !c.hasQmp()) {
                own.add(c);
            }
        }
        for (Command c : r.hmpCommands()) {
            if (c.isStrataOwn() && !c.hasQmp()) {
                own.add(c);
            }
        }
        for (Command c : own) {
            String args = c.params().isEmpty() ? "—" : c.params().stream().map(Param::describe).collect(Collectors.joining(", "));
            sb.append("| ").append(c.hasHmp() ? "`" + cell(c.hmpName()) + "`" : "—").append(" | ")
                    .append(c.hasHmp() ? "`" + cell(((c.isInfo() ? "info " : "") + c.hmpShortName().split("\\|")[0] + " "
                            + c.hmpParams()).trim()) + "`" : "—")
                    .append(" | ").append(c.hasQmp() ? "`" + c.name() + "`" : "—").append(" | ").append(cell(args))
                    .append(" | ").append(cell(c.hasHmp() ? c.hmpHelp() : c.help())).append(" |\n");
        }
    }

    private static String cell(String s) {
        return s.replaceAll("\\s*\\n\\s*", " ").replace("|", "\\|");
    }

    /** Prints the reference (for {@code > docs/commands.md}). */
    public static void main(String[] args) {
        System.out.print(render());
    }
}
