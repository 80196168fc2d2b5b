package dev.strata.blockdrv.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The length of one host file as this process last made it, so the request path does not pay
 * an {@code fstat} per request (bounds checks, mapped reads past the mapped end).
 *
 * <p>The cached value is used only while the file is <em>trusted</em>: some holder in this
 * process keeps QEMU's image locks so that no other process may write or resize it. Inside the
 * process every write and resize goes through {@link FileDriver} on the shared channel, which
 * reports growth ({@link #grew}) and resizes ({@link #refresh}); every holder of the file shares
 * this one object through {@link HostFileTable}. Untrusted files (locking off, or shared with
 * other writers) are asked with {@code fstat} every time, as before.
 *
 * <p>Thread safety: any thread. Two atomics: the length last read from the host, and the end
 * of the furthest write this process completed since then; the size is the larger of the two,
 * so a write that finishes while another thread reads the length is never lost. Truncating a
 * file while writes past the new end are in flight is not supported (nothing in Strata does it:
 * qcow2 truncates only under its metadata lock with no allocations in flight).
 */
public final class FileSize {

    private static final long UNKNOWN = -1;

    private final Supplier<FileChannel> channel;
    /** Length read from the host, or UNKNOWN. */
    private final AtomicLong stat = new AtomicLong(UNKNOWN);
    /** Furthest end written in this process since the last resize. */
    private final AtomicLong written = new AtomicLong(0);
    private volatile boolean trusted;

    FileSize(Supplier<FileChannel> channel) {
        this.channel = channel;
    }

    /** The file's length in bytes. */
    public long get() throws IOException {
        if (!trusted) {
            return channel.get().size();
        }
        long s = stat.get();
        if (s == UNKNOWN) {
            s = channel.get().size();
            stat.compareAndSet(UNKNOWN, s);
        }
        return Math.max(s, written.get());
    }

    /** After a resize: the length is read from the host again, and earlier writes no longer count. */
    public long refresh() throws IOException {
        long v = channel.get().size();
        written.set(0);
        stat.set(v);
        return v;
    }

    /** A write ending at {@code end} has completed: the file is at least that long now. */
    public void grew(long end) {
        long cur = written.get();
        while (end > cur && !written.compareAndSet(cur, end)) {
            cur = written.get();
        }
    }

    /** Switched by the file table when the set of holders (and so the locks) changes. */
    void setTrusted(boolean t) {
        if (t != trusted) {
            // whatever is known may be stale after a time without locks: ask the host afresh
            stat.set(UNKNOWN);
            written.set(0);
            trusted = t;
        }
    }
}
