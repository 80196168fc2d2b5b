package dev.strata.monitor.nbd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.nbd.NbdListenAddress;
import dev.strata.blockdrv.nbd.NbdRemoveMode;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.CommandSet;
import dev.strata.monitor.Json;
import dev.strata.monitor.Param;
import java.util.ArrayList;
import java.util.List;

/**
 * The NBD server and block export commands: QMP {@code nbd-server-start}, {@code nbd-server-add},
 * {@code nbd-server-remove}, {@code nbd-server-stop}, {@code block-export-add},
 * {@code block-export-del}, {@code query-block-exports}, event {@code BLOCK_EXPORT_DELETED}, their
 * HMP forms, and {@code object-add}/{@code object-del} for TLS credentials and authorization
 * ({@link ObjectCommands}), over the machine's {@link NbdService}. Messages are QEMU 7.2's.
 * Registered once per monitor; handlers run on monitor threads.
 */
public final class NbdCommands implements CommandSet {

    private final NbdService nbd;

    public NbdCommands(NbdService nbd) {
        this.nbd = nbd;
    }

    @Override
    public void register(CommandRegistry r) {
        ObjectCommands.register(r, nbd.objects());
        registerServer(r, nbd);
        registerExports(r, nbd);
    }

    private static void registerServer(CommandRegistry r, NbdService nbd) {
        r.register(Command.qmp("nbd-server-start")
                .params(new Param("addr", Param.Type.ANY, false, List.of()), Param.optStr("tls-creds"), Param.optStr("tls-authz"),
                        Param.optInt("max-connections"))
                .help("start an NBD server on a unix or TCP address")
                .handler((ctx, a) -> {
                    NbdListenAddress addr = ListenAddresses.fromQmp(a.get("addr"));
                    long max = a.integer("max-connections", 0);
                    if (max < 0 || max > 0xffffffffL) {
                        throw CommandException.generic("Parameter 'max-connections' expects uint32_t");
                    }
                    nbd.start(addr, a.str("tls-creds", null), a.str("tls-authz", null), (int) Math.min(max, Integer.MAX_VALUE));
                    return null;
                })
                .hmp("nbd_server_start", "all:-a,writable:-w,uri:s", "nbd_server_start [-a] [-w] host:port")
                .hmpHelp("serve block devices on the given host and port")
                .hmpRun((ctx, a) -> hmpStart(ctx, nbd, a))
                .build());
        r.register(Command.qmp("nbd-server-stop")
                .help("stop the NBD server, disconnecting its clients and removing every export")
                .handler((ctx, a) -> {
                    nbd.stop();
                    return null;
                })
                .hmp("nbd_server_stop", "", "nbd_server_stop")
                .hmpHelp("stop serving block devices using the NBD protocol")
                .build());
        r.register(Command.qmp("nbd-server-add")
                .params(Param.str("device"), Param.optStr("name"), Param.optStr("description"), Param.optBool("writable"),
                        Param.optStr("bitmap"))
                .help("export a drive or node on the NBD server (legacy form of block-export-add)")
                .handler((ctx, a) -> {
                    if (!nbd.running()) {
                        throw CommandException.generic("NBD server not running");
                    }
                    String device = a.str("device");
                    String name = a.str("name", device);
                    if (ctx.machine().graph().lookupOrNull(device) == null) {
                        throw CommandException.generic("Cannot find device='" + device + "' nor node-name='" + device + "'");
                    }
                    nbd.add(new NbdService.ExportRequest(name, device, name, a.str("description", null),
                            a.bool("writable", false), false, a.has("bitmap") ? List.of(a.str("bitmap")) : List.of(), false));
                    return null;
                })
                .hmp("nbd_server_add", "writable:-w,device:B,name:s?", "nbd_server_add [-w] device [name]")
                .hmpHelp("export a block device via NBD")
                .build());
        r.register(Command.qmp("nbd-server-remove")
                .params(Param.str("name"), Param.optEnum("mode", "safe", "hard"))
                .help("remove an export from the NBD server (mode hard disconnects its clients)")
                .handler((ctx, a) -> {
                    nbd.remove(a.str("name"), mode(a));
                    return null;
                })
                .hmp("nbd_server_remove", "force:-f,name:s", "nbd_server_remove [-f] name")
                .hmpHelp("remove an export previously exposed via NBD")
                .hmpArgs(h -> {
                    ObjectNode q = Json.object();
                    q.put("name", h.str("name"));
                    q.put("mode", h.bool("force", false) ? "hard" : "safe");
                    return q;
                })
                .build());
    }

    private static NbdRemoveMode mode(Args a) {
        return a.str("mode", "safe").equals("hard") ? NbdRemoveMode.HARD : NbdRemoveMode.SAFE;
    }

    /** HMP {@code nbd_server_start}: with {@code -a} every drive is exported too ({@code -w}: writable). */
    private static void hmpStart(CommandContext ctx, NbdService nbd, Args a) {
        nbd.start(ListenAddresses.fromHmp(a.str("uri")), null, null, 0);
        if (!a.bool("all", false)) {
            return;
        }
        for (BlockBackend b : ctx.machine().graph().backends()) {
            try {
                nbd.add(new NbdService.ExportRequest(b.name(), b.name(), b.name(), null, a.bool("writable", false), false,
                        List.of(), false));
            } catch (RuntimeException e) {
                nbd.stop();
                throw e;
            }
        }
    }

    private static void registerExports(CommandRegistry r, NbdService nbd) {
        r.register(Command.qmp("block-export-add")
                .params(Param.enumOf("type", "nbd", "vhost-user-blk", "fuse"), Param.str("id"), Param.optBool("fixed-iothread"),
                        Param.optStr("iothread"), Param.str("node-name"), Param.optBool("writable"), Param.optBool("writethrough"),
                        Param.optStr("name"), Param.optStr("description"), Param.optAny("bitmaps"), Param.optBool("allocation-depth"))
                .help("export a node (type nbd: on the NBD server)")
                .handler((ctx, a) -> {
                    if (!a.str("type").equals("nbd")) {
                        throw CommandException.generic("Block export type '" + a.str("type") + "' is not supported by Strata (only nbd)");
                    }
                    if (a.has("iothread")) {
                        throw CommandException.generic("iothread \"" + a.str("iothread") + "\" not found");
                    }
                    nbd.add(new NbdService.ExportRequest(a.str("id"), a.str("node-name"), a.str("name", null),
                            a.str("description", null), a.bool("writable", false), a.bool("writethrough", false),
                            strings(a.get("bitmaps")), a.bool("allocation-depth", false)));
                    return null;
                })
                .build());
        r.register(Command.qmp("block-export-del")
                .params(Param.str("id"), Param.optEnum("mode", "safe", "hard"))
                .help("remove a block export (mode hard disconnects its clients)")
                .handler((ctx, a) -> {
                    nbd.remove(a.str("id"), mode(a));
                    return null;
                })
                .build());
        r.register(Command.qmp("query-block-exports")
                .help("list the block exports")
                .handler((ctx, a) -> {
                    ArrayNode out = Json.array();
                    for (ExportEntry e : nbd.exports()) {
                        ObjectNode o = out.addObject();
                        o.put("node-name", e.node().nodeName());
                        o.put("shutting-down", e.shuttingDown());
                        o.put("type", "nbd");
                        o.put("id", e.id());
                    }
                    return out;
                })
                .build());
    }

    private static List<String> strings(JsonNode list) {
        List<String> out = new ArrayList<>();
        if (list == null) {
            return out;
        }
        if (!list.isArray()) {
            throw CommandException.generic("Invalid parameter type for 'bitmaps', expected: array");
        }
        for (JsonNode n : list) {
            if (!n.isTextual()) {
                throw CommandException.generic("Invalid parameter type for 'bitmaps[" + out.size() + "]', expected: string");
            }
            out.add(n.asText());
        }
        return out;
    }
}
