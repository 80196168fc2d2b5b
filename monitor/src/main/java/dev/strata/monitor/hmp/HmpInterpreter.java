package dev.strata.monitor.hmp;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockException;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.Machine;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one HMP line the way QEMU 7.2's {@code handle_hmp_command} does: command word lookup
 * (aliases, {@code info} sub-commands), argument parsing, the {@code Try "help ..."} line on a
 * parse error, {@code Error: ...} for a failed command. Output uses {@code \n}; transports turn
 * it into {@code \r\n}.
 *
 * <p>Stateless apart from its collaborators; many threads may run lines at once.
 */
public final class HmpInterpreter {

    /** What one line produced: its text, and the context whose after-reply actions are still due. */
    public record Result(String output, CommandContext context) {
    }

    private final Machine machine;
    private final CommandRegistry registry;
    private final EventBus events;

    public HmpInterpreter(Machine machine, CommandRegistry registry, EventBus events) {
        this.machine = machine;
        this.registry = registry;
        this.events = events;
    }

    public CommandRegistry registry() {
        return registry;
    }

    public Machine machine() {
        return machine;
    }

    /** Runs {@code line}; never throws for anything the line contains. */
    public Result execute(String line) {
        StringBuilder out = new StringBuilder();
        CommandContext ctx = new CommandContext(machine, registry, events, out);
        try {
            run(line, ctx, out);
        } catch (CommandException e) {
            out.append("Error: ").append(e.desc()).append('\n');
        } catch (BlockException e) {
            out.append("Error: ").append(e.getMessage()).append('\n');
        } catch (RuntimeException | StackOverflowError e) {
            out.append("Error: internal error: ").append(e).append('\n');
        }
        return new Result(out.toString(), ctx);
    }

    /** Convenience for callers that need no after-reply actions: runs them and returns the text. */
    public String executeNow(String line) {
        Result r = execute(line);
        r.context().runAfterReply();
        return r.output();
    }

    private void run(String line, CommandContext ctx, StringBuilder out) {
        int p = HmpParser.skipSpace(line, 0);
        if (p >= line.length()) {
            return;
        }
        int wordEnd = commandWordEnd(line, p);
        Command cmd = registry.hmp(line.substring(p, wordEnd));
        if (cmd == null) {
            out.append("unknown command: '").append(line, 0, wordEnd).append("'\n");
            return;
        }
        p = HmpParser.skipSpace(line, wordEnd);
        if (cmd.hmpName().equals(HmpBuiltins.INFO_NAME) && p < line.length()) {
            wordEnd = commandWordEnd(line, p);
            cmd = registry.info(line.substring(p, wordEnd));
            if (cmd == null) {
                out.append("unknown command: '").append(line, 0, wordEnd).append("'\n");
                return;
            }
            p = HmpParser.skipSpace(line, wordEnd);
        }
        ObjectNode args = HmpParser.parse(cmd.hmpShortName(), cmd.argsType(), line, p, out);
        if (args == null) {
            int end = p;
            while (end > 0 && HmpParser.isSpace(line.charAt(end - 1))) {
                end--;
            }
            out.append("Try \"help ").append(line, 0, end).append("\" for more information\n");
            return;
        }
        cmd.hmpRunner().run(ctx, Args.trusted(args));
    }

    /** QEMU's {@code get_command_name}: a command word ends at a space or a {@code /}. */
    private static int commandWordEnd(String line, int p) {
        while (p < line.length() && line.charAt(p) != '/' && !HmpParser.isSpace(line.charAt(p))) {
            p++;
        }
        return p;
    }

    /** {@code help [words]}: QEMU's {@code help_cmd}, printing the registry's entries. */
    public static void help(CommandRegistry registry, String words, StringBuilder out) {
        List<String> args = new ArrayList<>();
        if (words != null) {
            int p = 0;
            while (true) {
                p = HmpParser.skipSpace(words, p);
                if (p >= words.length()) {
                    break;
                }
                StringBuilder w = new StringBuilder();
                int end = HmpParser.getStr(words, p, w);
                if (end < 0) {
                    return;
                }
                args.add(w.toString());
                p = end;
            }
        }
        if (args.isEmpty()) {
            for (Command c : registry.hmpCommands()) {
                dumpOne(c, List.of(), out);
            }
            return;
        }
        Command top = registry.hmp(args.get(0));
        if (top == null) {
            out.append("unknown command: '").append(args.get(0)).append("'\n");
            return;
        }
        if (!top.hmpName().equals(HmpBuiltins.INFO_NAME)) {
            dumpOne(top, List.of(), out);
            return;
        }
        if (args.size() == 1) {
            for (Command c : registry.infoCommands()) {
                dumpOne(c, args.subList(0, 1), out);
            }
            return;
        }
        Command sub = registry.info(args.get(1));
        if (sub == null) {
            out.append("unknown command: '").append(args.get(0)).append(' ').append(args.get(1)).append("'\n");
            return;
        }
        dumpOne(sub, args.subList(0, 1), out);
    }

    private static void dumpOne(Command c, List<String> prefix, StringBuilder out) {
        for (String p : prefix) {
            out.append(p).append(' ');
        }
        out.append(c.hmpShortName()).append(' ').append(c.hmpParams()).append(" -- ")
                .append(c.isStrataOwn() ? "[Strata's own] " : "").append(c.hmpHelp()).append('\n');
    }
}
