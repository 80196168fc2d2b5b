package dev.strata.blockdrv;

import java.nio.ByteBuffer;

/**
 * One open instance of a driver (a format such as qcow2 or raw, a protocol such as file, or a
 * filter), bound to exactly one {@link BlockNode}.
 *
 * <p>Drivers see only requests that the generic path in {@link BlockNode} has already checked:
 * in bounds, aligned to {@link #requestAlignment()}, tracked for drain and serialisation. They
 * may be called from many threads at once and must guard their own mutable state. Children are
 * reached through the node ({@link BlockNode#file()}, {@link BlockNode#backing()}) on every
 * request, because jobs change the backing child while the driver stays open.
 *
 * <p>Optional abilities are separate interfaces ({@link SupportsWriteZeroes},
 * {@link SupportsDiscard}, {@link SupportsBackingChange}, {@link SupportsResize},
 * {@link SupportsReopen}) so a driver declares what it can do by what it implements.
 */
public interface BlockDriver {

    /** The driver name QEMU shows, e.g. {@code qcow2}, {@code raw}, {@code file}. */
    String formatName();

    /** Virtual size in bytes. */
    long size();

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}. */
    void read(long offset, ByteBuffer dst);

    /** Writes {@code src.remaining()} bytes at {@code offset}. */
    void write(long offset, ByteBuffer src);

    /** Makes every completed write durable (for files: fdatasync). */
    void flush();

    /** The state of the first extent at {@code offset}, at most {@code bytes} long, in this layer only. */
    BlockStatus blockStatus(long offset, long bytes);

    /** Requests must start and end on this many bytes (1 = byte granular); the generic path pads. */
    default int requestAlignment() {
        return 1;
    }

    /**
     * Granularity at which concurrent writes to the same region are serialised by the generic
     * path (a format's cluster size), so a driver never sees two writes racing on one cluster.
     */
    default int serialisationAlignment() {
        return 1;
    }

    /** The backing file name stored in the image, or null. Formats with backing files override. */
    default String backingFileName() {
        return null;
    }

    /** The backing format stored in the image, or null when the image does not record one. */
    default String backingFormat() {
        return null;
    }

    /** The host file this node ultimately stores its data in, for display; null if none. */
    default String filename() {
        return null;
    }

    /** Bytes the image takes on the host, or -1 if unknown. */
    default long allocatedFileSize() {
        return -1;
    }

    /** Releases host resources; after this no other method is called. */
    void close();
}
