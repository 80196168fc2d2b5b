package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.file.HostFileTable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Guest data reads served from a read-only memory mapping of the image file: one copy from the
 * page cache, no system call, which is what lets Strata outrun qemu-img's thread-pool preads.
 * Writes still go through the file channel; Linux keeps mapping and page cache coherent.
 *
 * <p>The mapping covers the file as long as it was when mapped, in 1 GiB windows that overlap
 * by 2 MiB so any read of up to 2 MiB lies in one window. Anything else (past the mapped end,
 * larger reads) returns {@code false} and the caller uses a positional read, which also gives
 * zeros past EOF. The file shares the channel of the file driver through
 * {@link HostFileTable} (a read claim without locks), so no other descriptor is opened.
 *
 * <p>Thread safety: the current mapping is one immutable object behind a volatile field;
 * remapping replaces it (old windows stay valid until collected).
 */
final class MappedReads {

    private static final long WINDOW = 1L << 30;
    private static final long OVERLAP = 2L << 20;
    /** Remap only when the file grew by this much (or an eighth): remapping costs system calls. */
    private static final long REMAP_STEP = 64L << 20;

    private record Mapping(MappedByteBuffer[] windows, long length) {
    }

    private final HostFileTable.Handle handle;
    private volatile Mapping mapping = new Mapping(new MappedByteBuffer[0], 0);
    private volatile boolean broken;
    private final java.util.concurrent.locks.ReentrantLock remapLock = new java.util.concurrent.locks.ReentrantLock();

    private MappedReads(HostFileTable.Handle handle) {
        this.handle = handle;
    }

    /** A mapper for {@code file}, or null when mapping is not possible. */
    static MappedReads open(String file) {
        try {
            return new MappedReads(HostFileTable.get().open(Path.of(file), file, new HostFileTable.Mode(false, false, false)));
        } catch (BlockException | UnsupportedOperationException e) {
            return null;
        }
    }

    /** Copies {@code dst.remaining()} bytes at {@code offset} into {@code dst}; false when the caller must read instead. */
    boolean read(long offset, ByteBuffer dst, java.util.function.LongSupplier fileLength) {
        int len = dst.remaining();
        if (broken || len > OVERLAP) {
            return false;
        }
        Mapping m = mapping;
        if (offset + len > m.length()) {
            long length = fileLength.getAsLong();
            // the first mapping is made whatever the size (images under REMAP_STEP were never
            // mapped, so their reads all paid a system call); later ones wait for real growth
            boolean worth = m.length() == 0 || length - m.length() >= Math.max(REMAP_STEP, m.length() / 8);
            if (offset + len > length || !worth) {
                return false;
            }
            m = remap(length);
            if (m == null || offset + len > m.length()) {
                return false;
            }
        }
        MappedByteBuffer w = m.windows()[(int) (offset / WINDOW)];
        int in = (int) (offset % WINDOW);
        try {
            dst.put(dst.position(), w, in, len);
        } catch (InternalError e) {
            // the file shrank under the mapping (SIGBUS); stop mapping and let preads decide
            broken = true;
            return false;
        }
        dst.position(dst.position() + len);
        return true;
    }

    private Mapping remap(long fileLength) {
        remapLock.lock();
        Mapping cur = mapping;
        if (cur.length() >= fileLength) {
            remapLock.unlock();
            return cur;
        }
        try {
            FileChannel ch = handle.channel();
            long length = Math.min(fileLength, ch.size());
            int n = (int) ((length + WINDOW - 1) / WINDOW);
            MappedByteBuffer[] ws = new MappedByteBuffer[n];
            for (int i = 0; i < n; i++) {
                long start = i * WINDOW;
                long size = Math.min(WINDOW + OVERLAP, length - start);
                ws[i] = i < cur.windows().length && cur.windows()[i].capacity() == size ? cur.windows()[i]
                        : ch.map(FileChannel.MapMode.READ_ONLY, start, size);
            }
            // the last window may end short of WINDOW + OVERLAP: reads must not cross its end
            Mapping m = new Mapping(ws, n == 0 ? 0 : Math.min(length, (n - 1) * WINDOW + ws[n - 1].capacity()));
            mapping = m;
            return m;
        } catch (IOException | RuntimeException e) {
            broken = true;
            return null;
        } finally {
            if (remapLock.isHeldByCurrentThread()) {
                remapLock.unlock();
            }
        }
    }

    void close() {
        mapping = new Mapping(new MappedByteBuffer[0], 0);
        handle.release();
    }
}
