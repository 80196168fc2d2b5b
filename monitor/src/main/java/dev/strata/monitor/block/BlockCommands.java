package dev.strata.monitor.block;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.Json;
import dev.strata.monitor.Param;

/**
 * Block commands: {@code query-block} / {@code info block}, {@code query-named-block-nodes},
 * {@code blockdev-add},
 * {@code query-blockstats} / {@code info blockstats}, {@code blockdev-snapshot-sync} /
 * {@code snapshot_blkdev}. Stateless; registered once.
 */
public final class BlockCommands {

    private BlockCommands() {
    }

    public static void register(CommandRegistry r) {
        r.register(Command.qmp("query-block")
                .help("describe the block devices (-n: every named node instead; -v: add image details)")
                .handler((ctx, a) -> BlockQueries.queryBlock(ctx.machine()))
                .hmp("info block", "nodes:-n,verbose:-v,device:B?", "[-n] [-v] [device]")
                .hmpRun(BlockCommands::infoBlock)
                .build());

        r.register(Command.qmp("query-named-block-nodes")
                .params(Param.optBool("flat"))
                .help("list every named node of the block graph")
                .handler((ctx, a) -> BlockQueries.queryNamedNodes(ctx.machine(), a.bool("flat", false)))
                .build());

        r.register(Command.qmp("query-blockstats")
                .params(Param.optBool("query-nodes"))
                .help("print the I/O counters of each block device")
                .handler((ctx, a) -> BlockStatsQuery.query(ctx.machine()))
                .hmp("info blockstats", "", "")
                .hmpFormat((ctx, a, res) -> {
                    StringBuilder sb = new StringBuilder();
                    for (JsonNode e : res) {
                        JsonNode s = e.get("stats");
                        sb.append(e.get("device").asText()).append(':')
                                .append(" rd_bytes=").append(s.get("rd_bytes").asLong())
                                .append(" wr_bytes=").append(s.get("wr_bytes").asLong())
                                .append(" rd_operations=").append(s.get("rd_operations").asLong())
                                .append(" wr_operations=").append(s.get("wr_operations").asLong())
                                .append(" flush_operations=").append(s.get("flush_operations").asLong())
                                .append(" wr_total_time_ns=").append(s.get("wr_total_time_ns").asLong())
                                .append(" rd_total_time_ns=").append(s.get("rd_total_time_ns").asLong())
                                .append(" flush_total_time_ns=").append(s.get("flush_total_time_ns").asLong())
                                .append(" rd_merged=").append(s.get("rd_merged").asLong())
                                .append(" wr_merged=").append(s.get("wr_merged").asLong())
                                .append(" idle_time_ns=").append(s.path("idle_time_ns").asLong(0)).append('\n');
                    }
                    ctx.print(sb.toString());
                })
                .build());

        r.register(Command.qmp("blockdev-add")
                .params(BlockdevAdd.PARAMS.toArray(Param[]::new))
                .help("open a new block node (options as -blockdev: driver, node-name, file, backing, cache, ...)")
                .handler((ctx, a) -> {
                    BlockdevAdd.run(ctx.machine(), a);
                    return null;
                })
                .build());

        r.register(Command.qmp("blockdev-snapshot-sync")
                .params(Param.optStr("device"), Param.optStr("node-name"), Param.str("snapshot-file"),
                        Param.optStr("snapshot-node-name"), Param.optStr("format"), Param.optEnum("mode", "existing", "absolute-paths"))
                .help("take an external snapshot: new-image-file (created as\n\t\t\tformat, qcow2 by default, unless -n reuses it) becomes the\n\t\t\tactive image, the current image its backing file")
                .handler((ctx, a) -> {
                    Snapshots.snapshotSync(ctx.machine(), a);
                    return null;
                })
                .hmp("snapshot_blkdev", "reuse:-n,device:B,snapshot-file:s?,format:s?", "[-n] device [new-image-file] [format]")
                .hmpArgs(a -> {
                    ObjectNode q = Json.object();
                    q.put("device", a.str("device"));
                    if (a.has("snapshot-file")) {
                        q.put("snapshot-file", a.str("snapshot-file"));
                    }
                    if (a.has("format")) {
                        q.put("format", a.str("format"));
                    }
                    q.put("mode", a.bool("reuse", false) ? "existing" : "absolute-paths");
                    return q;
                })
                .build());
        registerBlockdevSnapshot(r);
    }

    private static void registerBlockdevSnapshot(CommandRegistry r) {
        r.register(Command.qmp("blockdev-snapshot")
                .params(Param.str("node"), Param.str("overlay"))
                .help("make an existing node without backing the overlay of a node (it takes the node's place)")
                .handler((ctx, a) -> {
                    Snapshots.snapshot(ctx.machine(), a);
                    return null;
                })
                .build());
    }

    /** QEMU's {@code hmp_info_block}: devices (unless -n), else or when the name is no device, named nodes. */
    private static void infoBlock(dev.strata.monitor.CommandContext ctx, dev.strata.monitor.Args a) {
        String device = a.str("device", null);
        boolean verbose = a.bool("verbose", false);
        boolean nodes = a.bool("nodes", false);
        boolean printed = false;
        if (!nodes) {
            JsonNode list = ctx.call("query-block", null);
            for (int i = 0; i < list.size(); i++) {
                JsonNode info = list.get(i);
                if (device != null && !device.equals(info.get("device").asText())) {
                    continue;
                }
                // QEMU separates by position in the whole list, not by what was printed
                if (i > 0) {
                    ctx.print("\n");
                }
                BlockInfoText.print(ctx, info, info.get("inserted"), verbose);
                printed = true;
            }
        }
        if ((device == null && !nodes) || printed) {
            return;
        }
        JsonNode list = ctx.call("query-named-block-nodes", null);
        for (int i = 0; i < list.size(); i++) {
            JsonNode n = list.get(i);
            if (device != null && !device.equals(n.get("node-name").asText())) {
                continue;
            }
            if (i > 0) {
                ctx.print("\n");
            }
            BlockInfoText.print(ctx, null, n, verbose);
        }
    }
}
