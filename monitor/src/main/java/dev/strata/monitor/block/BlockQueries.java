package dev.strata.monitor.block;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.qcow2.Qcow2Driver;
import dev.strata.blockdrv.qcow2.Qcow2Info;
import dev.strata.jobs.bitmap.NodeBitmaps;
import dev.strata.jobs.bitmap.NodeDirtyBitmap;
import dev.strata.monitor.Json;
import dev.strata.monitor.Machine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds QEMU's {@code BlockInfo} ({@code query-block}), {@code BlockDeviceInfo}
 * ({@code query-named-block-nodes}, {@code inserted}) and {@code ImageInfo} values from the
 * graph, members in QAPI schema order. Only facts the block layer really has are reported:
 * throttling, encryption and detect-zeroes do not exist in Strata, so they read as off.
 *
 * <p>Stateless; reads the graph under its own locking.
 */
public final class BlockQueries {

    /** Filter drivers jobs insert without a name; {@code query-block} looks through them, as QEMU does. */
    private static final Set<String> IMPLICIT_FILTERS = Set.of("copy-on-read", "mirror_top", "commit_top", "copy-before-write", "backup-top");

    private BlockQueries() {
    }

    static ArrayNode queryBlock(Machine m) {
        BlockGraph g = m.graph();
        List<BlockBackend> backends = g.backends();
        Map<String, Long> usage = DiskUsage.of(files(backends.stream().map(b -> skipImplicit(b.root())).toList()));
        ArrayNode out = Json.array();
        for (BlockBackend b : backends) {
            ObjectNode o = out.addObject();
            o.put("device", b.name());
            if (b.attachedTo() != null) {
                o.put("qdev", b.attachedTo());
            }
            o.put("type", "unknown");
            o.put("removable", false);
            o.put("locked", false);
            BlockNode root = skipImplicit(b.root());
            if (root != null) {
                o.set("inserted", deviceInfo(g, root, BlockBackend.CacheMode.of(b.writeCacheEnabled(), root), usage, true));
            }
            o.put("io-status", m.ioStatus(b.name()));
        }
        return out;
    }

    static ArrayNode queryNamedNodes(Machine m, boolean flat) {
        BlockGraph g = m.graph();
        List<BlockNode> nodes = g.nodesNewestFirst();
        Map<String, Long> usage = DiskUsage.of(files(nodes));
        ArrayNode out = Json.array();
        for (BlockNode n : nodes) {
            // a node seen without a backend: QEMU reports writeback and the node's own options
            out.add(deviceInfo(g, n, BlockBackend.CacheMode.of(true, n), usage, !flat));
        }
        return out;
    }

    /** The node a device shows: below any filter a job inserted. */
    static BlockNode skipImplicit(BlockNode n) {
        while (n != null && n.isAutoNamed() && IMPLICIT_FILTERS.contains(n.formatName())) {
            n = n.backing() != null ? n.backing() : n.file();
        }
        return n;
    }

    private static List<String> files(List<BlockNode> tops) {
        List<String> l = new ArrayList<>();
        for (BlockNode t : tops) {
            for (BlockNode n = t; n != null; n = n.backing()) {
                l.add(n.filename());
            }
        }
        return l;
    }

    private static ObjectNode deviceInfo(BlockGraph g, BlockNode n, BlockBackend.CacheMode cache, Map<String, Long> usage, boolean chain) {
        ObjectNode o = Json.object();
        o.put("file", n.filename());
        o.put("node-name", n.nodeName());
        o.put("ro", n.isReadOnly());
        o.put("drv", n.formatName());
        if (n.backing() != null) {
            o.put("backing_file", n.backing().filename());
        }
        o.put("backing_file_depth", n.chainDepth());
        o.put("encrypted", false);
        o.put("detect_zeroes", "off");
        for (String k : new String[] {"bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"}) {
            o.put(k, 0);
        }
        o.set("image", imageInfo(n, usage, chain));
        ObjectNode c = o.putObject("cache");
        c.put("writeback", cache.writeback());
        c.put("direct", cache.direct());
        c.put("no-flush", cache.noFlush());
        o.put("write_threshold", 0);
        // QEMU's BlockDirtyInfo, present only when the node has bitmaps (members in schema order)
        List<NodeDirtyBitmap> bitmaps = NodeBitmaps.of(n);
        if (!bitmaps.isEmpty()) {
            ArrayNode a = o.putArray("dirty-bitmaps");
            for (NodeDirtyBitmap bm : bitmaps) {
                ObjectNode d = a.addObject();
                d.put("name", bm.name());
                d.put("count", bm.count());
                d.put("granularity", bm.granularity());
                d.put("recording", true);
                d.put("busy", bm.isBusy());
                d.put("persistent", false);
            }
        }
        return o;
    }

    private static ObjectNode imageInfo(BlockNode n, Map<String, Long> usage, boolean chain) {
        ObjectNode o = Json.object();
        o.put("filename", n.filename());
        o.put("format", n.formatName());
        Qcow2Info q = n.driver() instanceof Qcow2Driver d ? d.info() : null;
        o.put("dirty-flag", q != null && q.dirty());
        Long used = usage.get(n.filename());
        if (used != null) {
            o.put("actual-size", used);
        }
        // QEMU measures protocol nodes in whole 512-byte sectors (bdrv_getlength)
        o.put("virtual-size", n.formatName().equals("file") ? (n.size() + 511) / 512 * 512 : n.size());
        if (q != null) {
            o.put("cluster-size", q.clusterSize());
        }
        String stored = n.backingFileName();
        if (stored != null) {
            o.put("backing-filename", stored);
            if (n.backing() != null) {
                o.put("full-backing-filename", n.backing().filename());
            }
            String fmt = n.driver().backingFormat();
            if (fmt != null) {
                o.put("backing-filename-format", fmt);
            }
        }
        if (chain && n.backing() != null) {
            o.set("backing-image", imageInfo(n.backing(), usage, true));
        }
        if (q != null) {
            ObjectNode fs = o.putObject("format-specific");
            fs.put("type", "qcow2");
            ObjectNode d = fs.putObject("data");
            d.put("compat", q.compat());
            if (q.version() >= 3) {
                d.put("lazy-refcounts", q.lazyRefcounts());
                d.put("corrupt", q.corrupt());
            }
            d.put("refcount-bits", q.refcountBits());
            if (q.version() >= 3) {
                d.put("extended-l2", q.extendedL2());
            }
            d.put("compression-type", q.compressionType());
        }
        return o;
    }
}
