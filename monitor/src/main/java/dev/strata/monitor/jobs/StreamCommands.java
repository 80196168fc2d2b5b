package dev.strata.monitor.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.stream.Stream;
import dev.strata.jobs.stream.StreamRequest;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.CompletionKind;
import dev.strata.monitor.Json;
import dev.strata.monitor.Param;
import dev.strata.monitor.Sizes;

/**
 * QMP {@code block-stream} and HMP {@code block_stream device [speed [base]]}. The HMP form also
 * takes the seed's {@code block_stream device base}: a second word that does not parse as a size
 * and does not look like a number is the base. Handlers run on monitor threads.
 */
final class StreamCommands {

    static final String[] ON_ERROR = {"report", "ignore", "enospc", "stop", "auto"};

    private StreamCommands() {
    }

    static void register(CommandRegistry r, JobManager jobs) {
        r.register(Command.qmp("block-stream")
                .params(Param.optStr("job-id"), Param.str("device"), Param.optStr("base"), Param.optStr("base-node"),
                        Param.optStr("backing-file"), Param.optStr("bottom"), Param.optInt("speed"),
                        Param.optEnum("on-error", ON_ERROR), Param.optStr("filter-node-name"),
                        Param.optBool("auto-finalize"), Param.optBool("auto-dismiss"))
                .help("copy data from a backing file into a block device")
                .handler((ctx, a) -> {
                    StreamRequest req = new StreamRequest(a.str("job-id", null), a.str("device"), a.str("base", null),
                            a.str("base-node", null), a.str("backing-file", null), a.str("bottom", null),
                            a.integer("speed", 0), OnError.parse(a.str("on-error", "report"), "on-error"),
                            a.bool("auto-finalize", true), a.bool("auto-dismiss", true));
                    Stream.start(jobs, ctx.machine().graph(), req);
                    return null;
                })
                .hmp("block_stream", "device:B,speed:s?,base:s?", "device [speed [base]]")
                .hmpHelp("copy data from a backing file into a block device (speed in MiB/s unless suffixed; "
                        + "the base may also be given as the second word)")
                .complete("base", CompletionKind.FILE)
                .hmpRun(StreamCommands::hmp)
                .build());
    }

    /** QEMU's {@code hmp_block_stream}, plus the seed's two-word form. */
    private static void hmp(CommandContext ctx, Args a) {
        String device = a.str("device");
        String second = a.str("speed", null);
        String base = a.str("base", null);
        Long speed = null;
        if (second != null) {
            // parsed as HMP parses a size argument ('o'): the whole word, or a message
            Sizes.Parsed size = Sizes.parse(second, 0, Sizes.MIB);
            if (size != null && second.substring(size.end()).isBlank()) {
                speed = size.value();
            } else if (base != null || looksNumeric(second)) {
                ctx.println(size == null ? "invalid size" : "block_stream: extraneous characters at the end of line");
                ctx.println("Try \"help block_stream\" for more information");
                return;
            } else {
                base = second;
            }
        }
        ObjectNode q = Json.object();
        q.put("job-id", device);
        q.put("device", device);
        if (base != null) {
            q.put("base", base);
        }
        if (speed != null) {
            q.put("speed", speed);
        }
        q.put("on-error", "report");
        ctx.call("block-stream", q);
    }

    private static boolean looksNumeric(String w) {
        char c = w.charAt(0);
        return Character.isDigit(c) || c == '-' || c == '+' || c == '.';
    }
}
