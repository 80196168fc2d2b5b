package dev.strata.monitor.hmp;

import dev.strata.monitor.Command;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.Param;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * The monitor's own commands: {@code help}, the {@code info} prefix, and QMP's
 * {@code human-monitor-command}, which runs any HMP line and returns its text with {@code \r\n}
 * line ends (HMP failures are text, never QMP errors, as in QEMU).
 */
public final class HmpBuiltins {

    /** The declared HMP name of the info command (QEMU accepts {@code i} too). */
    public static final String INFO_NAME = "info|i";

    private HmpBuiltins() {
    }

    /** Registers the three; {@code hmp} is the interpreter that {@code human-monitor-command} runs lines on. */
    public static void register(CommandRegistry r, HmpInterpreter hmp) {
        r.register(Command.hmpOnly("help|?", "name:S?", "[cmd]")
                .help("list the commands, or describe one")
                .hmpRun((ctx, a) -> {
                    StringBuilder sb = new StringBuilder();
                    HmpInterpreter.help(ctx.registry(), a.str("name", null), sb);
                    ctx.print(sb.toString());
                })
                .build());

        r.register(Command.hmpOnly(INFO_NAME, "item:s?", "[subcommand]")
                .help("print a part of the machine state (see 'help info')")
                .hmpRun((ctx, a) -> {
                    StringBuilder sb = new StringBuilder();
                    HmpInterpreter.help(ctx.registry(), "info", sb);
                    ctx.print(sb.toString());
                })
                .build());

        r.register(Command.qmp("human-monitor-command")
                .params(Param.str("command-line"), Param.optInt("cpu-index"))
                .help("run an HMP command line and return its output")
                .handler((ctx, a) -> {
                    HmpInterpreter.Result res = hmp.execute(a.str("command-line"));
                    // e.g. quit: leave after the QMP reply, like the QMP command itself
                    ctx.afterReply(res.context()::runAfterReply);
                    if (res.context().sessionEnds()) {
                        ctx.endSession();
                    }
                    return new TextNode(res.output().replace("\n", "\r\n"));
                })
                .build());
    }
}
