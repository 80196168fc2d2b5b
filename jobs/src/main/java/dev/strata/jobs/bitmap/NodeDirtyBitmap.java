package dev.strata.jobs.bitmap;

import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.WriteNotifier;
import dev.strata.blockdrv.nbd.NbdDirtyBitmap;
import java.util.BitSet;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A user-visible dirty bitmap (QMP {@code block-dirty-bitmap-add}): records, per
 * {@code granularity}-sized piece of a node, whether a write touched it since the bitmap was
 * created or cleared. A write notifier marks pieces after each completed write. While an
 * incremental backup uses it, the pieces it took are kept aside so a failed backup can give them
 * back ({@link #takeForBackup}, {@link #backupEnded}); new writes keep being recorded meanwhile
 * (QEMU's successor bitmap). A disabled bitmap records nothing until enabled again (pull-mode
 * backup freezes one at the backup's point in time and exports it). In memory only;
 * {@code persistent} is refused by the command. An NBD export offers it as the meta context
 * {@code qemu:dirty-bitmap:NAME} through {@link NbdDirtyBitmap}.
 *
 * <p>Any thread; {@link #bits}, {@link #busy} and {@link #enabled} are guarded by {@link #lock}.
 */
public final class NodeDirtyBitmap implements NbdDirtyBitmap {

    private final BlockNode node;
    private final String name;
    private final int granularity;
    private final ReentrantLock lock = new ReentrantLock();
    private final BitSet bits = new BitSet();
    private boolean busy;
    private boolean enabled = true;
    private final WriteNotifier notifier = new WriteNotifier() {
        @Override
        public void afterWrite(BlockNode n, long offset, long bytes) {
            mark(offset, bytes);
        }
    };

    NodeDirtyBitmap(BlockNode node, String name, int granularity) {
        this.node = node;
        this.name = name;
        this.granularity = granularity;
    }

    void attach() {
        node.addWriteNotifier(notifier);
    }

    void detach() {
        node.removeWriteNotifier(notifier);
    }

    @Override
    public String name() {
        return name;
    }

    public BlockNode node() {
        return node;
    }

    public int granularity() {
        return granularity;
    }

    /** Marks every piece touching {@code [offset, offset+bytes)}. */
    public void mark(long offset, long bytes) {
        if (bytes <= 0) {
            return;
        }
        int from = (int) (offset / granularity);
        int to = (int) ((offset + bytes + granularity - 1) / granularity);
        lock.lock();
        try {
            if (!enabled) {
                return;
            }
            bits.set(from, to);
        } finally {
            lock.unlock();
        }
    }

    /** Dirty bytes (QEMU's {@code count}: pieces times granularity, capped at the node's size). */
    public long count() {
        lock.lock();
        try {
            long n = (long) bits.cardinality() * granularity;
            int last = bits.length() - 1;
            if (last >= 0 && (long) (last + 1) * granularity > node.size()) {
                n -= (long) (last + 1) * granularity - node.size();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    public boolean isBusy() {
        lock.lock();
        try {
            return busy;
        } finally {
            lock.unlock();
        }
    }

    /** Whether writes are being recorded ({@code recording} in query-block). */
    public boolean isEnabled() {
        lock.lock();
        try {
            return enabled;
        } finally {
            lock.unlock();
        }
    }

    /** Starts or stops recording writes (QMP {@code block-dirty-bitmap-enable}/{@code -disable}). */
    public void setEnabled(boolean on) {
        lock.lock();
        try {
            enabled = on;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The run of equal pieces starting at {@code offset}, at most {@code maxBytes} long and never
     * past the node's end (the NBD {@code qemu:dirty-bitmap} context).
     */
    @Override
    public Run firstRun(long offset, long maxBytes) {
        long end = Math.min(offset + maxBytes, Math.max(node.size(), offset + 1));
        int piece = (int) (offset / granularity);
        lock.lock();
        try {
            boolean dirty = bits.get(piece);
            int next = dirty ? bits.nextClearBit(piece) : bits.nextSetBit(piece);
            long runEnd = next < 0 ? end : Math.min(end, (long) next * granularity);
            return new Run(dirty, Math.max(1, runEnd - offset));
        } finally {
            lock.unlock();
        }
    }

    /** Forgets every recorded write. */
    public void clear() {
        lock.lock();
        try {
            bits.clear();
        } finally {
            lock.unlock();
        }
    }

    /** Clears and returns what was recorded (a transaction may give it back with {@link #merge}). */
    public BitSet clearReturningBits() {
        lock.lock();
        try {
            BitSet old = (BitSet) bits.clone();
            bits.clear();
            return old;
        } finally {
            lock.unlock();
        }
    }

    /** Adds {@code pieces} to what is recorded. */
    public void merge(BitSet pieces) {
        lock.lock();
        try {
            bits.or(pieces);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Hands the recorded pieces to a backup (called with the node drained, so the split between
     * "before" and "after" the backup's point in time is exact) and starts afresh for new writes.
     */
    public BitSet takeForBackup() {
        lock.lock();
        try {
            BitSet taken = (BitSet) bits.clone();
            bits.clear();
            busy = true;
            return taken;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The backup that took {@code taken} ended. With {@code keep} (it failed, or bitmap-mode
     * {@code never}) the taken pieces are merged back; otherwise only writes since its start remain.
     */
    public void backupEnded(BitSet taken, boolean keep) {
        lock.lock();
        try {
            if (keep) {
                bits.or(taken);
            }
            busy = false;
        } finally {
            lock.unlock();
        }
    }
}
