package dev.strata.blockdrv.qcow2;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A bounded, least-recently-used, write-back cache of one-cluster metadata tables (L2 tables or
 * refcount blocks), QEMU's {@code Qcow2Cache}. Memory is capped at {@code capacity} clusters
 * whatever the image size.
 *
 * <p>Ordering between caches is expressed as QEMU does: {@link #dependOn} means "before any dirty
 * table of this cache reaches the disk, the other cache is written back and the file is
 * fsynced". That is how "refcount durable before reference" (L2 depends on refcounts) and
 * "reference removed before refcount drop" (refcounts depend on L2) hold under write-back.
 *
 * <p>Not thread safe: only called with the driver's metadata lock held, except {@link #peek},
 * which optimistic readers call without it.
 */
final class MetadataCache {

    /** One cached table. {@code buf} is a heap buffer of exactly one cluster. */
    static final class Table {
        final long offset;
        final ByteBuffer buf;
        boolean dirty;

        Table(long offset, ByteBuffer buf) {
            this.offset = offset;
            this.buf = buf;
        }
    }

    private final String what;
    private final HostFile host;
    private final int clusterSize;
    private final int capacity;
    private final LinkedHashMap<Long, Table> tables;
    /** The same tables for lock-free lookups ({@link #peek}); changed only together with {@code tables}. */
    private final java.util.concurrent.ConcurrentHashMap<Long, Table> index = new java.util.concurrent.ConcurrentHashMap<>();
    private MetadataCache dependency;
    private boolean dependsOnFlush;
    private long hits;
    private long misses;

    MetadataCache(String what, HostFile host, int clusterSize, int capacity) {
        this.what = what;
        this.host = host;
        this.clusterSize = clusterSize;
        this.capacity = Math.max(2, capacity);
        this.tables = new LinkedHashMap<>(16, 0.75f, true);
    }

    int capacity() {
        return capacity;
    }

    /** The table at {@code offset}, loaded from the file on a miss (zeros past EOF). */
    Table get(long offset) {
        Table t = tables.get(offset);
        if (t != null) {
            hits++;
            return t;
        }
        misses++;
        ByteBuffer buf = ByteBuffer.allocate(clusterSize);
        host.read(offset, buf);
        buf.clear();
        return insert(new Table(offset, buf));
    }

    /**
     * The cached table at {@code offset} or null, without loading or touching the LRU order:
     * the one method callable without the metadata lock (optimistic readers validate afterwards).
     */
    Table peek(long offset) {
        return index.get(offset);
    }

    /** A fresh all-zero table for a newly allocated cluster, not read from the file; marked dirty. */
    Table create(long offset) {
        tables.remove(offset);
        index.remove(offset);
        Table t = new Table(offset, ByteBuffer.allocate(clusterSize));
        t.dirty = true;
        return insert(t);
    }

    /** Marks {@code t} modified; re-inserts it if it was evicted while the caller held it. */
    void markDirty(Table t) {
        t.dirty = true;
        if (tables.get(t.offset) != t) {
            tables.remove(t.offset);
            index.remove(t.offset);
            insert(t);
        }
    }

    /** Drops a table whose cluster was freed, without writing it. */
    void discard(long offset) {
        tables.remove(offset);
        index.remove(offset);
    }

    /** Before this cache's dirty tables are written, {@code other} is written back and fsynced. */
    void dependOn(MetadataCache other) {
        if (other.dependency != null) {
            other.flushDependency();
        }
        if (dependency != null && dependency != other) {
            flushDependency();
        }
        dependency = other;
    }

    /** Before this cache's dirty tables are written, the file is fsynced (data written earlier first). */
    void dependOnFlush() {
        dependsOnFlush = true;
    }

    /** Writes back every dirty table, then fsyncs. */
    void flush() {
        List<Table> dirty = new ArrayList<>();
        for (Table t : tables.values()) {
            if (t.dirty) {
                dirty.add(t);
            }
        }
        if (dirty.isEmpty()) {
            return;
        }
        dirty.sort((a, b) -> Long.compare(a.offset, b.offset));
        for (Table t : dirty) {
            writeBack(t);
        }
        host.flush();
    }

    /** Writes back every dirty table and forgets all tables (used when the whole layout changes). */
    void clear() {
        flush();
        tables.clear();
        index.clear();
    }

    boolean hasDirty() {
        for (Table t : tables.values()) {
            if (t.dirty) {
                return true;
            }
        }
        return false;
    }

    private void flushDependency() {
        // the dependency is forgotten only once it is met: if the write-back or the fsync fails,
        // our dirty tables must still wait for it the next time
        dependency.flush();
        // flush() may have written nothing; the barrier is still owed to our callers
        host.flush();
        dependency = null;
        dependsOnFlush = false;
    }

    private void writeBack(Table t) {
        if (!t.dirty) {
            return;
        }
        if (dependency != null) {
            flushDependency();
        } else if (dependsOnFlush) {
            host.flush();
            dependsOnFlush = false;
        }
        host.write(t.offset, t.buf.duplicate().clear());
        t.dirty = false;
    }

    private Table insert(Table t) {
        while (tables.size() >= capacity) {
            Iterator<Map.Entry<Long, Table>> it = tables.entrySet().iterator();
            Table victim = it.next().getValue();
            writeBack(victim);
            it.remove();
            index.remove(victim.offset);
        }
        tables.put(t.offset, t);
        index.put(t.offset, t);
        return t;
    }

    @Override
    public String toString() {
        return what + " cache: " + tables.size() + "/" + capacity + " tables, " + hits + " hits, " + misses + " misses";
    }
}
