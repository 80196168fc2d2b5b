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
    /** Job filters as shown, each with the newest node at its creation (it lists just above that one). */
    private final Map<ImplicitFilter, String> filters = new LinkedHashMap<>();
    /** Nodes served by users outside the drive list (NBD exports), with how many hold each. */
    private final Map<BlockNode, Integer> holds = new java.util.IdentityHashMap<>();
    /** Nodes the monitor holds ({@code -blockdev}): they stay open when no other node uses them. */
    private final java.util.Set<BlockNode> monitorHeld = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private final AtomicInteger counter = new AtomicInteger();
    private final DriverRegistry drivers;
    private final NodeOpener opener;
    /** The machine's {@code -object}s by id, for drivers that name one (nbd's {@code tls-creds}). */
    private volatile java.util.function.Function<String, Object> objects = id -> null;

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

    /** Lets drivers opened from now on find user objects ({@code -object}, {@code object-add}) by id. */
    public void useObjects(java.util.function.Function<String, Object> lookup) {
        this.objects = lookup;
    }

    /** The user object {@code id}, or null (also when the graph has no object registry). */
    public Object object(String id) {
        return objects.apply(id);
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

    BlockNode newNode(String requestedName, boolean readOnly, NodeCache cache) {
        lock.lock();
        try {
            if (requestedName != null) {
                NodeNames.check(requestedName);
                if (nodes.containsKey(requestedName) || backends.containsKey(requestedName)) {
                    throw BlockException.invalid("Duplicate nodes with node-name='" + requestedName + "'");
                }
                return new BlockNode(requestedName, false, readOnly, cache);
            }
            return new BlockNode(autoName(), true, readOnly, cache);
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
        if (cache.direct() != root.cache().direct() || cache.noFlush() != root.cache().noFlush()) {
            // direct and no-flush are node options: a backend cannot give a node other ones
            throw new IllegalArgumentException("cache mode " + cache.describe() + " does not match node '" + root.nodeName()
                    + "' (" + BlockBackend.CacheMode.of(cache.writeback(), root).describe() + "); open the node with its cache options");
        }
        return createBackend(id, root, cache.writeback());
    }

    /**
     * Creates the backend {@code id} on {@code root} with its write cache on (write-back) or off
     * (writethrough); {@code direct} and {@code no-flush} are {@code root}'s own.
     */
    public BlockBackend createBackend(String id, BlockNode root, boolean writeCache) {
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
            BlockBackend b = new BlockBackend(id, root, writeCache);
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

    /**
     * Shows a job's filter node above {@code child} (see {@link ImplicitFilter}); the caller
     * drops it with {@link #hideFilter} when the job lets go of its nodes.
     */
    public ImplicitFilter showFilter(String driver, BlockNode child) {
        lock.lock();
        try {
            boolean between = driver.equals(ImplicitFilter.COMMIT_TOP);
            ImplicitFilter f = new ImplicitFilter(autoName(), driver, child, !driver.equals(ImplicitFilter.COPY_BEFORE_WRITE), between);
            String newest = null;
            for (String n : nodes.keySet()) {
                newest = n;
            }
            filters.put(f, newest == null ? "" : newest);
            return f;
        } finally {
            lock.unlock();
        }
    }

    public void hideFilter(ImplicitFilter f) {
        lock.lock();
        try {
            filters.remove(f);
        } finally {
            lock.unlock();
        }
    }

    /** The filter shown above {@code child}, or null. */
    public ImplicitFilter filterAbove(BlockNode child) {
        lock.lock();
        try {
            for (ImplicitFilter f : filters.keySet()) {
                if (f.child() == child) {
                    return f;
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** One line of {@code query-named-block-nodes}: a node, or a job's filter. */
    public record Listed(BlockNode node, ImplicitFilter filter) {
    }

    /** Nodes and job filters newest first, as QEMU lists them. */
    public List<Listed> listingNewestFirst() {
        lock.lock();
        try {
            List<Listed> out = new ArrayList<>();
            List<ImplicitFilter> fs = new ArrayList<>(filters.keySet());
            Collections.reverse(fs);
            // a filter whose "newest node" has gone lists first: it is newer than every node left
            for (ImplicitFilter f : fs) {
                if (!nodes.containsKey(filters.get(f))) {
                    out.add(new Listed(null, f));
                }
            }
            for (BlockNode n : nodesNewestFirst()) {
                for (ImplicitFilter f : fs) {
                    if (filters.get(f).equals(n.nodeName())) {
                        out.add(new Listed(null, f));
                    }
                }
                out.add(new Listed(n, null));
            }
            return out;
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

    /**
     * Marks {@code node} as used by something that is not a drive (an NBD export's own backend), so
     * jobs that drop nodes from a chain keep it and its backing chain open, as QEMU keeps a node
     * alive while an export references it. Balanced by {@link #release}.
     */
    public void hold(BlockNode node) {
        lock.lock();
        try {
            holds.merge(node, 1, Integer::sum);
        } finally {
            lock.unlock();
        }
    }

    public void release(BlockNode node) {
        lock.lock();
        try {
            holds.computeIfPresent(node, (n, c) -> c > 1 ? c - 1 : null);
        } finally {
            lock.unlock();
        }
    }

    /** The held nodes (see {@link #hold}). */
    public List<BlockNode> heldNodes() {
        lock.lock();
        try {
            return List.copyOf(holds.keySet());
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code node} is held or is in the backing/file chain of a held node. */
    public boolean isHeld(BlockNode node) {
        for (BlockNode h : heldNodes()) {
            for (BlockNode n = h; n != null; n = n.backing()) {
                if (n == node || n.file() == node) {
                    return true;
                }
            }
        }
        return false;
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

    /**
     * Closes those of {@code candidates} that nothing uses any more (after a job dropped them from
     * a chain): not reachable through backing or file links from a backend's root, from a node an
     * NBD export holds ({@link #hold}), from a node outside the candidates or from a node the
     * monitor holds ({@link #holdForMonitor}). Their files stay on disk (QEMU drops such nodes when
     * their last parent goes).
     */
    public void closeUnreferenced(java.util.Collection<BlockNode> candidates) {
        java.util.Set<BlockNode> cand = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        cand.addAll(candidates);
        java.util.Set<BlockNode> kept = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        java.util.ArrayDeque<BlockNode> todo = new java.util.ArrayDeque<>();
        for (BlockBackend b : backends()) {
            todo.add(b.root());
        }
        todo.addAll(heldNodes()); // nodes an NBD export serves stay open with their chains
        for (BlockNode n : nodesNewestFirst()) {
            if (!cand.contains(n) || isMonitorHeld(n)) {
                todo.add(n);
            }
        }
        while (!todo.isEmpty()) {
            BlockNode n = todo.poll();
            if (n == null || !kept.add(n)) {
                continue;
            }
            if (n.backing() != null) {
                todo.add(n.backing());
            }
            if (n.file() != null) {
                todo.add(n.file());
            }
        }
        for (BlockNode n : candidates) {
            if (!kept.contains(n) && node(n.nodeName()) == n) {
                close(n);
            }
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
