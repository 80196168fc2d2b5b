package dev.strata.monitor.block;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.monitor.Args;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Machine;
import dev.strata.monitor.Param;
import dev.strata.monitor.cli.JsonOptions;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * QMP {@code blockdev-add}: opens a node tree from QEMU's {@code BlockdevOptions}, the same tree
 * {@code -blockdev} builds (nested objects become the dotted keys of the block layer), e.g.
 * {@code {"driver": "qcow2", "node-name": "t0", "file": {"driver": "file", "filename": "t.qcow2"},
 * "cache": {"direct": true}}}. Only the members Strata's drivers act on are accepted; any other
 * is refused as QEMU refuses an unknown one, rather than accepted and ignored.
 *
 * <p>Stateless; monitor threads.
 */
final class BlockdevAdd {

    static final List<Param> PARAMS = List.of(Param.str("driver"), Param.optStr("node-name"),
            new Param("cache", Param.Type.OBJECT, true, List.of()), Param.optBool("read-only"), Param.optBool("force-share"),
            Param.optAny("file"), Param.optAny("backing"), Param.optStr("filename"), Param.optEnum("locking", "auto", "on", "off"),
            Param.optInt("l2-cache-size"), Param.optInt("refcount-cache-size"), Param.optInt("offset"), Param.optInt("size"),
            Param.optBool("read-zeroes"),
            // nbd: server is a SocketAddress object (type, host, port, path), flattened to server.*
            new Param("server", Param.Type.OBJECT, true, List.of()), Param.optStr("export"), Param.optStr("tls-creds"), Param.optStr("tls-hostname"),
            Param.optInt("reconnect-delay"), Param.optInt("open-timeout"));

    private static final List<String> CACHE_MEMBERS = List.of("direct", "no-flush");

    private BlockdevAdd() {
    }

    static void run(Machine m, Args a) {
        JsonNode args = a.toJson();
        if (!args.has("node-name")) {
            throw CommandException.generic("'node-name' must be specified for the root node");
        }
        JsonNode cache = args.get("cache");
        if (cache != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = cache.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!CACHE_MEMBERS.contains(e.getKey())) {
                    throw CommandException.generic("Parameter 'cache." + e.getKey() + "' is unexpected");
                }
                if (!e.getValue().isBoolean()) {
                    throw CommandException.generic("Invalid parameter type for 'cache." + e.getKey() + "', expected: boolean");
                }
            }
        }
        Map<String, String> flat;
        try {
            flat = JsonOptions.flatten(args.toString());
        } catch (IllegalArgumentException e) {
            throw CommandException.generic(e.getMessage());
        }
        try {
            m.graph().open(BlockOptions.of(flat));
        } catch (BlockException e) {
            throw CommandException.generic(e.getMessage());
        }
    }
}
