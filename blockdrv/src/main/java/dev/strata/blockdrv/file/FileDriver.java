package dev.strata.blockdrv.file;

import com.sun.nio.file.ExtendedOpenOption;
import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.SupportsReopen;
import dev.strata.blockdrv.SupportsResize;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@code file} protocol: positional reads and writes on a host file, flush = fdatasync.
 * Reads past the end of the file return zeros (a sparse tail), as in QEMU.
 *
 * <p>The channel is shared per host file through {@link HostFileTable}, which also takes
 * QEMU-compatible image locks.
 *
 * <p>Cache modes: {@code cache.direct=on} does all I/O on an O_DIRECT channel (see
 * {@link DirectFileIo}: whole blocks of the file system's block size from aligned buffers; what
 * arrives unaligned is bounced or padded there); {@code cache.no-flush=on} makes {@link #flush} do nothing,
 * as QEMU's {@code cache=unsafe} drops flushes before they reach the host.
 *
 * <p>Thread safety: positional channel I/O is safe from many threads; the channel is re-read
 * from the handle on every request because a read-write upgrade replaces it.
 */
public final class FileDriver implements BlockDriver, SupportsWriteZeroes, SupportsResize, SupportsReopen {

    /**
     * Writes of at least this many bytes queue on the file's large-write lock (see
     * {@link HostFileTable.Handle#largeWrites()}); 4 KiB guest writes stay lock-free, their time
     * in the kernel is too short for spinning to matter.
     */
    static final int LARGE_WRITE = 64 << 10;

    private final String filename;
    private final HostFileTable.Handle handle;
    /** Non-null when the file is opened with O_DIRECT. */
    private final DirectFileIo direct;
    private final boolean noFlush;
    /** fdatasync calls made (what {@code cache.no-flush} and writethrough change; tests read it). */
    private final java.util.concurrent.atomic.LongAdder hostFlushes = new java.util.concurrent.atomic.LongAdder();
    private volatile boolean readOnly;

    /**
     * @param unshareWrite refuse other writers while open (backing files, as QEMU does; writers always do)
     * @param locking      take QEMU-compatible image locks ({@code locking=off} skips them)
     */
    public FileDriver(String filename, boolean readOnly, boolean unshareWrite, boolean locking) {
        this(filename, readOnly, unshareWrite, locking, false, false);
    }

    /**
     * @param direct  bypass the host page cache (O_DIRECT), QEMU's {@code cache.direct}
     * @param noFlush ignore flushes, QEMU's {@code cache.no-flush}
     */
    public FileDriver(String filename, boolean readOnly, boolean unshareWrite, boolean locking, boolean direct, boolean noFlush) {
        this.filename = filename;
        this.readOnly = readOnly;
        this.noFlush = noFlush;
        this.handle = HostFileTable.get().open(Path.of(filename), filename,
                new HostFileTable.Mode(!readOnly, unshareWrite || !readOnly, locking, direct));
        this.direct = direct ? new DirectFileIo(handle, filename) : null;
    }

    /** How many times {@link #flush} reached the host (fdatasync) so far. */
    long hostFlushes() {
        return hostFlushes.sum();
    }

    /** True when this file is opened with O_DIRECT (the host page cache is bypassed). */
    public boolean isDirect() {
        return direct != null;
    }

    /** O_DIRECT needs whole blocks: the generic path pads what it can; {@link DirectFileIo} the rest. */
    @Override
    public int requestAlignment() {
        return handle.alignment();
    }

    @Override
    public String formatName() {
        return "file";
    }

    @Override
    public String filename() {
        return filename;
    }

    @Override
    public long size() {
        try {
            return handle.fileSize().get();
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        }
    }

    @Override
    public long allocatedFileSize() {
        return size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        if (direct != null) {
            direct.read(offset, dst);
            return;
        }
        FileChannel ch = handle.channel();
        try {
            long pos = offset;
            while (dst.hasRemaining()) {
                int n = ch.read(dst, pos);
                if (n < 0) {
                    dev.strata.blockdrv.Buffers.zero(dst);
                    return;
                }
                pos += n;
            }
        } catch (ClosedChannelException e) {
            throw new BlockException(BlockException.Kind.IO, "'" + filename + "' is closed", e);
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        if (readOnly) {
            throw new BlockException(BlockException.Kind.PERMISSION, "Block node is read-only");
        }
        if (direct != null) {
            direct.write(offset, src);
            return;
        }
        FileChannel ch = handle.channel();
        int len = src.remaining();
        ReentrantLock gate = len >= LARGE_WRITE ? handle.largeWrites() : null;
        if (gate != null) {
            gate.lock();
        }
        try {
            long pos = offset;
            while (src.hasRemaining()) {
                pos += ch.write(src, pos);
            }
            handle.fileSize().grew(pos);
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        } finally {
            if (gate != null) {
                gate.unlock();
            }
        }
    }

    @Override
    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        dev.strata.blockdrv.Buffers.writeZeroBuffers(this::write, offset, bytes);
    }

    @Override
    public void flush() {
        if (readOnly || noFlush) {
            return;
        }
        try {
            hostFlushes.increment();
            handle.channel().force(false);
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        }
    }

    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        return BlockStatus.data(offset, bytes, offset);
    }

    @Override
    public void resize(long newSize) {
        try {
            // one byte at the new end grows the file sparsely; O_DIRECT cannot write one byte
            FileChannel ch = handle.bufferedChannel();
            long cur = ch.size();
            if (newSize < cur) {
                ch.truncate(newSize);
            } else if (newSize > cur) {
                ch.write(ByteBuffer.allocate(1), newSize - 1);
            }
            handle.fileSize().refresh();
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        }
    }

    @Override
    public void reopen(boolean ro) {
        handle.reopen(!ro);
        readOnly = ro;
    }

    @Override
    public void close() {
        handle.release();
    }

    /** Opens for the given mode, with O_DIRECT when {@code direct}. */
    static FileChannel openChannel(Path p, boolean readOnly, boolean direct) throws IOException {
        java.util.Set<java.nio.file.OpenOption> o = new java.util.HashSet<>();
        o.add(StandardOpenOption.READ);
        if (!readOnly) {
            o.add(StandardOpenOption.WRITE);
        }
        if (direct) {
            o.add(ExtendedOpenOption.DIRECT);
        }
        return FileChannel.open(p, o);
    }
}
