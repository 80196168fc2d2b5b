package dev.strata.jobs.bitmap;

import dev.strata.blockdrv.BlockNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The dirty bitmaps of every node, by node and name (bitmaps belong to a node, as in QEMU; a node
 * that is gone takes its bitmaps with it). Any thread; the map is guarded by {@link #LOCK}.
 */
public final class NodeBitmaps {

    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final Map<BlockNode, Map<String, NodeDirtyBitmap>> BY_NODE = new WeakHashMap<>();

    private NodeBitmaps() {
    }

    /** Adds and starts a bitmap; false when the node already has one of that name. */
    public static NodeDirtyBitmap add(BlockNode node, String name, int granularity) {
        LOCK.lock();
        try {
            Map<String, NodeDirtyBitmap> m = BY_NODE.computeIfAbsent(node, n -> new LinkedHashMap<>());
            if (m.containsKey(name)) {
                return null;
            }
            NodeDirtyBitmap b = new NodeDirtyBitmap(node, name, granularity);
            b.attach();
            m.put(name, b);
            return b;
        } finally {
            LOCK.unlock();
        }
    }

    public static NodeDirtyBitmap find(BlockNode node, String name) {
        LOCK.lock();
        try {
            Map<String, NodeDirtyBitmap> m = BY_NODE.get(node);
            return m == null ? null : m.get(name);
        } finally {
            LOCK.unlock();
        }
    }

    public static void remove(NodeDirtyBitmap b) {
        LOCK.lock();
        try {
            Map<String, NodeDirtyBitmap> m = BY_NODE.get(b.node());
            if (m != null && m.remove(b.name()) == b) {
                b.detach();
            }
        } finally {
            LOCK.unlock();
        }
    }

    /** The node's bitmaps, oldest first. */
    public static List<NodeDirtyBitmap> of(BlockNode node) {
        LOCK.lock();
        try {
            Map<String, NodeDirtyBitmap> m = BY_NODE.get(node);
            return m == null ? List.of() : new ArrayList<>(m.values());
        } finally {
            LOCK.unlock();
        }
    }
}
