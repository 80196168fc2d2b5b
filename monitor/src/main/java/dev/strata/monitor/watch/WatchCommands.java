package dev.strata.monitor.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.jobs.JobManager;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.CommandSet;
import dev.strata.monitor.Json;
import dev.strata.monitor.Param;

/**
 * Strata's own commands for watching a machine work, not QEMU's: {@code info chain [device]}
 * ({@code x-strata-query-chain}) and {@code info guest} ({@code x-strata-query-guest}). Each HMP
 * form calls its QMP command through the registry and draws the JSON, so both always agree.
 *
 * <p>Built by the launcher with the machine's job manager and its guest's figures; registered
 * once. The handlers run on any monitor thread; the chain letters they keep guard themselves.
 */
public final class WatchCommands implements CommandSet {

    private final JobManager jobs;
    private final GuestWatch guest;
    private final ChainLabels labels = new ChainLabels();

    /** {@code guest}: {@link GuestWatch#NONE} for a machine without a synthetic guest. */
    public WatchCommands(JobManager jobs, GuestWatch guest) {
        this.jobs = jobs;
        this.guest = guest;
    }

    @Override
    public void register(CommandRegistry r) {
        r.register(Command.qmp("x-strata-query-chain")
                .params(Param.optStr("device"))
                .help("draw each drive's backing chain ([A] <- [B] <- ...) with the file, node name and allocated bytes "
                        + "of every layer, and the running block jobs on the layers they work on")
                .handler((ctx, a) -> ChainQuery.query(ctx.machine().graph(), a.str("device", null), jobs, labels))
                .hmp("info chain", "device:B?", "[device]")
                .hmpFormat((ctx, a, res) -> {
                    for (int i = 0; i < res.size(); i++) {
                        if (i > 0) {
                            ctx.print("\n");
                        }
                        ChainText.lines(res.get(i)).forEach(ctx::println);
                    }
                })
                .strataOwn()
                .build());
        r.register(Command.qmp("x-strata-query-guest")
                .help("show what the synthetic guest is doing: IOPS, MiB/s and p50/p99 latency over the last second, "
                        + "operations so far, and its data verification (blocks checked, failures)")
                .handler((ctx, a) -> queryGuest())
                .hmp("info guest", "", "")
                .hmpFormat((ctx, a, res) -> GuestText.lines(res).forEach(ctx::println))
                .strataOwn()
                .build());
    }

    private JsonNode queryGuest() {
        ArrayNode out = Json.array();
        for (GuestWatch.Figures f : guest.workloads()) {
            ObjectNode o = out.addObject();
            o.put("workload", f.workload());
            o.put("drive", f.drive());
            o.put("running", f.running());
            o.put("iops", Math.round(f.iops() * 10) / 10.0);
            o.put("bytes-per-sec", Math.round(f.bytesPerSec()));
            o.put("p50-ns", f.p50Ns());
            o.put("p99-ns", f.p99Ns());
            o.put("operations", f.operations());
            o.put("verify", f.verifying());
            o.put("blocks-checked", f.blocksChecked());
            o.put("verify-failures", f.verifyFailures());
        }
        return out;
    }
}
