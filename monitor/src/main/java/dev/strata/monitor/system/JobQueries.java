package dev.strata.monitor.system;

import dev.strata.monitor.Command;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.Json;

/**
 * The job queries of a machine without a job manager: there are no jobs, so the lists are empty
 * and {@code info block-jobs} says {@code No active jobs}, exactly as QEMU with no job. The job
 * commands module replaces these three with {@link CommandRegistry#replace}.
 */
public final class JobQueries {

    private JobQueries() {
    }

    public static void register(CommandRegistry r) {
        r.register(Command.qmp("query-block-jobs")
                .help("list the block jobs and their progress")
                .handler((ctx, a) -> Json.array())
                .hmp("info block-jobs", "", "")
                .hmpFormat((ctx, a, res) -> {
                    if (res.isEmpty()) {
                        ctx.println("No active jobs");
                    }
                })
                .build());
        r.register(Command.qmp("query-jobs")
                .help("list all jobs")
                .handler((ctx, a) -> Json.array())
                .build());
    }
}
