package dev.strata.blockdrv;

import dev.strata.blockdrv.io.RequestTracker;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a device (or {@code qemu-io}) holds: a named handle on the root node of a graph, e.g.
 * drive {@code virtio0}. Every guest request passes the backend's door, so draining the backend
 * stops guest I/O while the root is switched (snapshot, mirror pivot, active commit).
 *
 * <p>The backend owns one part of QEMU's cache mode, the write cache ({@code cache.writeback},
 * a device's {@code write-cache}): when it is off (writethrough) every write and zero write is
 * flushed before it completes, as QEMU emulates FUA. The other two parts, {@code direct} and
 * {@code no-flush}, are options of the nodes ({@link NodeCache}).
 *
 * <p>Thread safety: I/O methods from any thread; {@code root} is volatile and only replaced while
 * the backend is drained; the write-cache flag is volatile.
 */
public final class BlockBackend {

    private final String name;
    /**
     * Requests started through any backend: the guest's I/O, never a job's (jobs use nodes
     * directly). Block jobs read it without locking to see whether the guest is busy and leave it
     * CPU (see the jobs module's CopyPipeline); a LongAdder so the guest's many threads do not
     * contend on one counter.
     */
    private static final LongAdder ALL_REQUESTS = new LongAdder();

    private final RequestTracker door = new RequestTracker();
    private final LongAdder requests = new LongAdder();
    private volatile BlockNode root;
    private volatile String attachedTo;
    private volatile boolean writeCache;

    /**
     * QEMU's cache options as {@code info block} shows them: the backend's write cache and the
     * shown node's {@code direct} and {@code no-flush}.
     */
    public record CacheMode(boolean writeback, boolean direct, boolean noFlush) {
        public static final CacheMode WRITEBACK = new CacheMode(true, false, false);

        /** Maps {@code cache=writeback|none|writethrough|directsync|unsafe}. */
        public static CacheMode parse(String mode) {
            return switch (mode) {
                case "writeback" -> new CacheMode(true, false, false);
                case "none" -> new CacheMode(true, true, false);
                case "writethrough" -> new CacheMode(false, false, false);
                case "directsync" -> new CacheMode(false, true, false);
                case "unsafe" -> new CacheMode(true, false, true);
                default -> throw BlockException.invalid("invalid cache option '" + mode + "'");
            };
        }

        /** The {@code Cache mode:} value of {@code info block}. */
        public String describe() {
            return (writeback ? "writeback" : "writethrough") + (direct ? ", direct" : "") + (noFlush ? ", ignore flushes" : "");
        }

        /** The mode in force on {@code node} seen through a backend whose write cache is {@code writeCache}. */
        public static CacheMode of(boolean writeCache, BlockNode node) {
            return new CacheMode(writeCache, node.cache().direct(), node.cache().noFlush());
        }
    }

    public BlockBackend(String name, BlockNode root, boolean writeCache) {
        this.name = name;
        this.root = root;
        this.writeCache = writeCache;
    }

    public String name() {
        return name;
    }

    public BlockNode root() {
        return root;
    }

    /** The mode in force now: this backend's write cache and its root node's cache options. */
    public CacheMode cacheMode() {
        return CacheMode.of(writeCache, root);
    }

    /** True when writes may complete before they are durable (write-back); false for writethrough. */
    public boolean writeCacheEnabled() {
        return writeCache;
    }

    /** The device's {@code write-cache} property (or a guest toggling its write cache) sets it. */
    public void setWriteCache(boolean on) {
        this.writeCache = on;
    }

    /** The device this backend is attached to (QEMU's qdev path), or null. */
    public String attachedTo() {
        return attachedTo;
    }

    public void setAttachedTo(String qdevPath) {
        this.attachedTo = qdevPath;
    }

    public long size() {
        return root.size();
    }

    public void read(long offset, ByteBuffer dst) {
        counted();
        try (RequestTracker.Tracked t = door.begin(offset, Math.max(1, dst.remaining()), false, false, 1)) {
            root.read(offset, dst);
        }
    }

    public void write(long offset, ByteBuffer src) {
        counted();
        try (RequestTracker.Tracked t = door.begin(offset, Math.max(1, src.remaining()), false, false, 1)) {
            root.write(offset, src);
            if (!writeCache) {
                root.flush();
            }
        }
    }

    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        counted();
        try (RequestTracker.Tracked t = door.begin(offset, Math.max(1, bytes), false, false, 1)) {
            root.writeZeroes(offset, bytes, mayUnmap);
            if (!writeCache) {
                root.flush();
            }
        }
    }

    public void discard(long offset, long bytes) {
        counted();
        try (RequestTracker.Tracked t = door.begin(offset, Math.max(1, bytes), false, false, 1)) {
            root.discard(offset, bytes);
        }
    }

    /** Flushes the root node; nodes opened with {@code cache.no-flush} skip the host's part. */
    public void flush() {
        try (RequestTracker.Tracked t = door.begin(0, 1, false, false, 1)) {
            root.flush();
        }
    }

    /**
     * Stops new requests from this backend and waits for those in flight. The returned section
     * must be closed; while it is open {@link #replaceRoot} may be called.
     */
    public BlockNode.Drained drain() {
        door.quiesce();
        return door::resume;
    }

    /** Switches the device onto another root node. Only while drained. */
    public void replaceRoot(BlockNode newRoot) {
        if (!door.isQuiesced()) {
            throw new IllegalStateException("root of " + name + " replaced without drain");
        }
        this.root = newRoot;
    }

    private void counted() {
        requests.increment();
        ALL_REQUESTS.increment();
    }

    /** Reads, writes, zero writes and discards started through this backend so far (lock-free, any thread). */
    public long requestsStarted() {
        return requests.sum();
    }

    /** The same count over every backend of the process (lock-free, any thread): how busy the guest is. */
    public static long requestsStartedAll() {
        return ALL_REQUESTS.sum();
    }

    /** Requests in flight through this backend now. */
    public int inFlightRequests() {
        return door.inFlightCount();
    }
}
