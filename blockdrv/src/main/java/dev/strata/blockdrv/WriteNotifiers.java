package dev.strata.blockdrv;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The write notifiers of one {@link BlockNode} and the one order in which they hear of a change:
 * {@code beforeWrite}, the tracked request itself, {@code written} / {@code zeroed} on success,
 * then {@code afterWrite} whatever happened (see {@link WriteNotifier} for why each sits where it
 * does). Every kind of write (data, compressed, zeroes, discard) goes through {@link #around}.
 *
 * <p>Called on the writer's thread; any number at once. The list is copy-on-write, so adding or
 * removing a notifier never blocks a write and a write in flight sees a consistent snapshot per
 * step.
 */
final class WriteNotifiers {

    private final BlockNode node;
    private final List<WriteNotifier> notifiers = new CopyOnWriteArrayList<>();

    WriteNotifiers(BlockNode node) {
        this.node = node;
    }

    void add(WriteNotifier n) {
        notifiers.add(n);
    }

    void remove(WriteNotifier n) {
        notifiers.remove(n);
    }

    /**
     * A data write of {@code src} (plain or compressed): notifiers see exactly the bytes the
     * request carried, as a read-only view taken before {@code trackedWrite} consumes {@code src}.
     */
    void write(long offset, ByteBuffer src, Runnable trackedWrite) {
        around(offset, src.remaining(), () -> {
            // no view (and no call) when nobody listens
            ByteBuffer data = notifiers.isEmpty() ? null : src.slice().asReadOnlyBuffer();
            trackedWrite.run();
            if (data != null) {
                for (WriteNotifier n : notifiers) {
                    n.written(node, offset, data.duplicate());
                }
            }
        });
    }

    /** A write-zeroes of {@code [offset, offset+bytes)}. */
    void writeZeroes(long offset, long bytes, boolean mayUnmap, Runnable trackedWrite) {
        around(offset, bytes, () -> {
            trackedWrite.run();
            for (WriteNotifier n : notifiers) {
                n.zeroed(node, offset, bytes, mayUnmap);
            }
        });
    }

    /** Runs {@code request} between beforeWrite and afterWrite (a discard has nothing in between). */
    void around(long offset, long bytes, Runnable request) {
        for (WriteNotifier n : notifiers) {
            n.beforeWrite(node, offset, bytes);
        }
        try {
            request.run();
        } finally {
            for (WriteNotifier n : notifiers) {
                n.afterWrite(node, offset, bytes);
            }
        }
    }
}
