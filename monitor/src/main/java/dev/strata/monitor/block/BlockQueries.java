package dev.strata.monitor.block;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.ImplicitFilter;
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
 * throttling and encryption do not exist in Strata, so they read as off; detect-zeroes is the
 * node's own setting.
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
            // QEMU: a drive no device holds counts as removable (blk_dev_has_removable_media)
            o.put("removable", b.attachedTo() == null);
            o.put("locked", false);
            BlockNode root = skipImplicit(b.root());
            if (root != null) {
                // a job filter QEMU does not mark implicit (backup's copy-before-write) is what the device shows
                ImplicitFilter f = g.filterAbove(root);
                Shown top = f != null && !f.implicit() ? Shown.of(f) : Shown.of(root);
                o.set("inserted", deviceInfo(g, top, BlockBackend.CacheMode.of(b.writeCacheEnabled(), root), usage, View.DEVICE));
            }
            if (b.attachedTo() != null) {
                // only a device that keeps an I/O status (virtio-blk, IDE) enables it in QEMU
                o.put("io-status", m.ioStatus(b.name()));
            }
        }
        return out;
    }

    static ArrayNode queryNamedNodes(Machine m, boolean flat) {
        BlockGraph g = m.graph();
        List<BlockGraph.Listed> listing = g.listingNewestFirst();
        Map<String, Long> usage = DiskUsage.of(files(g.nodesNewestFirst()));
        ArrayNode out = Json.array();
        for (BlockGraph.Listed l : listing) {
            BlockNode n = l.node() != null ? l.node() : l.filter().child();
            // a node seen without a backend: QEMU reports writeback and the node's own options
            Shown shown = l.node() != null ? Shown.of(l.node()) : Shown.of(l.filter());
            out.add(deviceInfo(g, shown, BlockBackend.CacheMode.of(true, n), usage, flat ? View.FLAT : View.NODES));
        }
        return out;
    }

    /**
     * How much of the chain a {@code BlockDeviceInfo} carries, as QEMU's {@code bdrv_block_device_info}:
     * {@code query-block} walks the chain looking through implicit job filters, {@code
     * query-named-block-nodes} walks it with them, and its {@code flat} form not at all.
     */
    private enum View {
        DEVICE, NODES, FLAT
    }

    /** A node or a job's filter, as one element of a shown chain. */
    private record Shown(BlockNode node, ImplicitFilter filter) {
        static Shown of(BlockNode n) {
            return new Shown(n, null);
        }

        static Shown of(ImplicitFilter f) {
            return new Shown(null, f);
        }

        /** The real node underneath (the filter's child for a filter). */
        BlockNode real() {
            return node != null ? node : filter.child();
        }

        /** The next element down the chain in {@code view} (null at the bottom). */
        Shown below(BlockGraph g, View view) {
            BlockNode next = node != null ? node.backing() : filter.child();
            if (next == null) {
                return null;
            }
            // commit_top sits between an overlay and the committed top: part of the chain unless looked through
            ImplicitFilter between = node != null && view == View.NODES ? g.filterAbove(next) : null;
            return between != null && between.between() ? of(between) : of(next);
        }
    }

    private static int depth(BlockGraph g, Shown s, View view) {
        int d = 0;
        if (view != View.FLAT) {
            for (Shown x = s.below(g, view); x != null; x = x.below(g, view)) {
                d++;
            }
        }
        return d;
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

    private static ObjectNode deviceInfo(BlockGraph g, Shown s, BlockBackend.CacheMode cache, Map<String, Long> usage, View view) {
        BlockNode n = s.real();
        ObjectNode o = Json.object();
        o.put("file", n.filename());
        o.put("node-name", s.filter() != null ? s.filter().nodeName() : n.nodeName());
        o.put("ro", n.isReadOnly());
        o.put("drv", s.filter() != null ? s.filter().driver() : n.formatName());
        if (s.filter() == null && n.backing() != null) {
            o.put("backing_file", n.backing().filename());
        }
        o.put("backing_file_depth", depth(g, s, view));
        o.put("encrypted", false);
        o.put("detect_zeroes", s.filter() != null ? "off" : n.policy().detectZeroes().word());
        for (String k : new String[] {"bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"}) {
            o.put(k, 0);
        }
        o.set("image", imageInfo(g, s, usage, view));
        ObjectNode c = o.putObject("cache");
        c.put("writeback", cache.writeback());
        c.put("direct", cache.direct());
        c.put("no-flush", cache.noFlush());
        o.put("write_threshold", 0);
        // QEMU's BlockDirtyInfo, present only when the node has bitmaps (members in schema order)
        List<NodeDirtyBitmap> bitmaps = s.filter() != null ? List.of() : NodeBitmaps.of(n);
        if (!bitmaps.isEmpty()) {
            ArrayNode a = o.putArray("dirty-bitmaps");
            for (NodeDirtyBitmap bm : bitmaps) {
                ObjectNode d = a.addObject();
                d.put("name", bm.name());
                d.put("count", bm.count());
                d.put("granularity", bm.granularity());
                d.put("recording", bm.isEnabled());
                d.put("busy", bm.isBusy());
                d.put("persistent", false);
            }
        }
        return o;
    }

    private static ObjectNode imageInfo(BlockGraph g, Shown s, Map<String, Long> usage, View view) {
        BlockNode n = s.real();
        ObjectNode o = Json.object();
        o.put("filename", n.filename());
        o.put("format", s.filter() != null ? s.filter().driver() : n.formatName());
        Qcow2Info q = n.driver() instanceof Qcow2Driver d ? d.info() : null;
        o.put("dirty-flag", s.filter() == null && q != null && q.dirty());
        Long used = usage.get(n.filename());
        if (used != null) {
            o.put("actual-size", used);
        }
        // QEMU measures protocol nodes in whole 512-byte sectors (bdrv_getlength)
        o.put("virtual-size", n.formatName().equals("file") ? (n.size() + 511) / 512 * 512 : n.size());
        if (q != null) {
            o.put("cluster-size", q.clusterSize());
        }
        Shown below = view == View.FLAT ? null : s.below(g, view);
        if (s.filter() != null) {
            // a filter has no image format of its own: the child's size and cluster size, no header
            if (below != null) {
                o.set("backing-image", imageInfo(g, below, usage, view));
            }
            return o;
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
        if (below != null) {
            o.set("backing-image", imageInfo(g, below, usage, view));
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
