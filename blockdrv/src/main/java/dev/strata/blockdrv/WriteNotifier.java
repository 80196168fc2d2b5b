package dev.strata.blockdrv;

import java.nio.ByteBuffer;

/**
 * Told about every write, write-zeroes and discard made through a {@link BlockNode} (not copy-on-read,
 * which does not change what a reader sees). {@code beforeWrite} runs before the request is
 * tracked, so it may read and copy the old data of the range (backup's copy-before-write)
 * without deadlocking against it; {@code afterWrite} runs once the request is done, whether it
 * succeeded or not (mirror's dirty bitmap). Both run on the writer's thread.
 *
 * <p>Between the two, after a successful write or write-zeroes and before the writer sees its
 * request complete, {@code written} / {@code zeroed} run (outside the node's request
 * tracking), so a notifier can finish work with the new data first: mirror's write-blocking
 * mode copies it to the target there. They are not called for discards or failed requests.
 * A notifier added while a request is under way may see {@code afterWrite} without the others.
 */
public interface WriteNotifier {
    default void beforeWrite(BlockNode node, long offset, long bytes) {
    }

    /** A write succeeded; {@code data} is a read-only view of exactly the bytes written. */
    default void written(BlockNode node, long offset, ByteBuffer data) {
    }

    /** A write-zeroes succeeded: the range now reads as zeros. */
    default void zeroed(BlockNode node, long offset, long bytes, boolean mayUnmap) {
    }

    default void afterWrite(BlockNode node, long offset, long bytes) {
    }
}
