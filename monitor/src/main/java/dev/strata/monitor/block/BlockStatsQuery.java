package dev.strata.monitor.block;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import dev.strata.device.BlockStats;
import dev.strata.monitor.Json;
import dev.strata.monitor.Machine;

/**
 * {@code query-blockstats}: per device the accounting the device model keeps (through
 * {@link Machine#deviceStats}), and below it the tree of nodes. Strata accounts I/O per device,
 * not per node, so node entries carry zero counters, as QEMU's nodes do for I/O they never saw.
 *
 * <p>Stateless; any thread.
 */
final class BlockStatsQuery {

    private BlockStatsQuery() {
    }

    static ArrayNode query(Machine m) {
        ArrayNode out = Json.array();
        for (BlockBackend b : m.graph().backends()) {
            BlockNode root = BlockQueries.skipImplicit(b.root());
            ObjectNode o = out.addObject();
            o.put("device", b.name());
            if (b.attachedTo() != null) {
                o.put("qdev", b.attachedTo());
            }
            o.put("node-name", root.nodeName());
            o.set("stats", stats(m.deviceStats(b.name()).orElse(BlockStats.ZERO), true));
            children(o, root);
        }
        return out;
    }

    private static ObjectNode node(BlockNode n) {
        ObjectNode o = Json.object();
        o.put("node-name", n.nodeName());
        o.set("stats", stats(BlockStats.ZERO, false));
        if (n.formatName().equals("file")) {
            ObjectNode d = o.putObject("driver-specific");
            d.put("driver", "file");
            d.put("discard-nb-ok", 0);
            d.put("discard-nb-failed", 0);
            d.put("discard-bytes-ok", 0);
        }
        children(o, n);
        return o;
    }

    private static void children(ObjectNode o, BlockNode n) {
        if (n.file() != null) {
            o.set("parent", node(n.file()));
        }
        if (n.backing() != null) {
            o.set("backing", node(n.backing()));
        }
    }

    private static ObjectNode stats(BlockStats s, boolean device) {
        ObjectNode o = Json.object();
        o.put("rd_bytes", s.rdBytes());
        o.put("wr_bytes", s.wrBytes());
        o.put("unmap_bytes", s.unmapBytes());
        o.put("rd_operations", s.rdOperations());
        o.put("wr_operations", s.wrOperations());
        o.put("flush_operations", s.flushOperations());
        o.put("unmap_operations", s.unmapOperations());
        o.put("rd_total_time_ns", s.rdTotalTimeNs());
        o.put("wr_total_time_ns", s.wrTotalTimeNs());
        o.put("flush_total_time_ns", s.flushTotalTimeNs());
        o.put("unmap_total_time_ns", s.unmapTotalTimeNs());
        o.put("wr_highest_offset", s.wrHighestOffset());
        o.put("rd_merged", s.rdMerged());
        o.put("wr_merged", s.wrMerged());
        o.put("unmap_merged", s.unmapMerged());
        if (s.idleTimeNs() >= 0) {
            o.put("idle_time_ns", s.idleTimeNs());
        }
        o.put("failed_rd_operations", s.failedRdOperations());
        o.put("failed_wr_operations", s.failedWrOperations());
        o.put("failed_flush_operations", s.failedFlushOperations());
        o.put("failed_unmap_operations", s.failedUnmapOperations());
        o.put("invalid_rd_operations", s.invalidRdOperations());
        o.put("invalid_wr_operations", s.invalidWrOperations());
        o.put("invalid_flush_operations", s.invalidFlushOperations());
        o.put("invalid_unmap_operations", s.invalidUnmapOperations());
        // QEMU accounts invalid and failed requests on the device's BlockBackend only
        o.put("account_invalid", device);
        o.put("account_failed", device);
        o.putArray("timed_stats");
        return o;
    }
}
