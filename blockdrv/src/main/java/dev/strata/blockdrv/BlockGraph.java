package dev.strata.blockdrv;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * All nodes and backends of one machine, by name. Opening, naming and lookup live here; the
 * node-building rules are in {@link NodeOpener}.
 *
 * <p>Thread safety: structural changes and lookups are guarded by {@code lock}; callers that
 * change edges (backing switches) drain the nodes involved first.
 */
public final class BlockGraph {

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, BlockNode> nodes = new LinkedHashMap<>();
    private final Map<String, BlockBackend> backends = new LinkedHashMap<>();
    /** Nodes the monitor holds ({@code -blockdev}): they stay open when no other node uses them. */
    private final java.util.Set<BlockNode> monitorHeld = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private final AtomicInteger counter = new AtomicInteger();
    private final DriverRegistry drivers;
    private final NodeOpener opener;

    public BlockGraph() {
        this(DriverRegistry.standard());
    }

    public BlockGraph(DriverRegistry drivers) {
        this.drivers = drivers;
        this.opener = new NodeOpener(this, drivers);
    }

    public DriverRegistry drivers() {
        return drivers;
    }

    /**
     * Opens a node tree from QEMU-style options ({@code file=}, {@code format=}/{@code driver=},
     * {@code node-name=}, {@code backing.*}, {@code read-only=}), including the backing chain
     * the image header names.
     */
    public BlockNode open(BlockOptions options) {
        return opener.open(options);
    }

    /**
     * QEMU's monitor reference: a node opened by {@code -blockdev} (or {@code blockdev-add}) stays
     * in the graph when a job drops it from a chain, until it is deleted; jobs ask
     * {@link #isMonitorHeld} before closing a node nothing else uses.
     */
    public void holdForMonitor(BlockNode node) {
        lock.lock();
        try {
            monitorHeld.add(node);
        } finally {
            lock.unlock();
        }
    }

    /** Whether the monitor holds {@code node} (see {@link #holdForMonitor}). */
    public boolean isMonitorHeld(BlockNode node) {
        lock.lock();
        try {
            return monitorHeld.contains(node);
        } finally {
            lock.unlock();
        }
    }

    /** A generated node name: {@code #block} + counter + two random digits, as QEMU makes them. */
    String autoName() {
        lock.lock();
        try {
            String name;
            do {
                name = "#block" + counter.incrementAndGet() + String.format("%02d", ThreadLocalRandom.current().nextInt(100));
            } while (nodes.containsKey(name));
            return name;
        } finally {
            lock.unlock();
        }
    }

    BlockNode newNode(String requestedName, boolean readOnly) {
        lock.lock();
        try {
            if (requestedName != null) {
                NodeNames.check(requestedName);
                if (nodes.containsKey(requestedName) || backends.containsKey(requestedName)) {
                    throw BlockException.invalid("Duplicate nodes with node-name='" + requestedName + "'");
                }
                return new BlockNode(requestedName, false, readOnly);
            }
            return new BlockNode(autoName(), true, readOnly);
        } finally {
            lock.unlock();
        }
    }

    void register(BlockNode node) {
        lock.lock();
        try {
            nodes.put(node.nodeName(), node);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Creates the backend {@code id} (a drive id such as {@code virtio0}) on {@code root}. The id
     * may equal {@code root}'s own node name (the anonymous backend of {@code -device drive=NODE}).
     */
    public BlockBackend createBackend(String id, BlockNode root, BlockBackend.CacheMode cache) {
        lock.lock();
        try {
            if (backends.containsKey(id)) {
                throw BlockException.invalid("Duplicate ID '" + id + "' for drive");
            }
            // The one allowed clash: -device drive=NODE gets QEMU's anonymous backend, which
            // info block lists under its root node's name, so it may carry that name.
            BlockNode sameName = nodes.get(id);
            if (sameName != null && sameName != root) {
                throw BlockException.invalid("Device name '" + id + "' conflicts with an existing node name");
            }
            BlockBackend b = new BlockBackend(id, root, cache);
            backends.put(id, b);
            return b;
        } finally {
            lock.unlock();
        }
    }

    public BlockBackend backend(String id) {
        lock.lock();
        try {
            return backends.get(id);
        } finally {
            lock.unlock();
        }
    }

    /** Backends in creation order. */
    public List<BlockBackend> backends() {
        lock.lock();
        try {
            return List.copyOf(backends.values());
        } finally {
            lock.unlock();
        }
    }

    public BlockNode node(String name) {
        lock.lock();
        try {
            return nodes.get(name);
        } finally {
            lock.unlock();
        }
    }

    /** Nodes newest first, as {@code info block -n} lists them. */
    public List<BlockNode> nodesNewestFirst() {
        lock.lock();
        try {
            List<BlockNode> l = new ArrayList<>(nodes.values());
            Collections.reverse(l);
            return l;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Finds the node a command names: a drive id (its root node) or a node name. Fails with
     * QEMU's message {@code Cannot find device='x' nor node-name='x'}.
     */
    public BlockNode lookup(String deviceOrNode) {
        BlockNode n = lookupOrNull(deviceOrNode);
        if (n == null) {
            throw new BlockException(BlockException.Kind.NOT_FOUND,
                    "Cannot find device='" + deviceOrNode + "' nor node-name='" + deviceOrNode + "'");
        }
        return n;
    }

    public BlockNode lookupOrNull(String deviceOrNode) {
        lock.lock();
        try {
            BlockBackend b = backends.get(deviceOrNode);
            if (b != null) {
                return b.root();
            }
            return nodes.get(deviceOrNode);
        } finally {
            lock.unlock();
        }
    }

    /** The backend whose root chain contains {@code node}, or null (jobs default their id to it). */
    public BlockBackend backendOf(BlockNode node) {
        for (BlockBackend b : backends()) {
            for (BlockNode n = b.root(); n != null; n = n.backing()) {
                if (n == node) {
                    return b;
                }
            }
        }
        return null;
    }

    /** Closes {@code node} and its file child and forgets them; the files stay on disk. */
    public void close(BlockNode node) {
        lock.lock();
        try {
            monitorHeld.remove(node);
            nodes.remove(node.nodeName());
            BlockNode f = node.file();
            if (f != null) {
                nodes.remove(f.nodeName());
            }
        } finally {
            lock.unlock();
        }
        node.closeDriver();
        if (node.file() != null) {
            node.file().closeDriver();
        }
    }

    /** Closes every backend's chain, flushing first; used on quit. */
    public void closeAll() {
        for (BlockBackend b : backends()) {
            try {
                b.flush();
            } catch (BlockException e) {
                // keep closing the rest; the caller reports flush failures separately
            }
        }
        for (BlockNode n : nodesNewestFirst()) {
            try {
                n.closeDriver();
            } catch (RuntimeException e) {
                // closing is best effort once flushed
            }
        }
        lock.lock();
        try {
            nodes.clear();
            backends.clear();
            monitorHeld.clear();
        } finally {
            lock.unlock();
        }
    }
}
