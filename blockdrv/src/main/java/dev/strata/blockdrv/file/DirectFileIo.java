package dev.strata.blockdrv.file;

import dev.strata.blockdrv.AlignedIo;
import dev.strata.blockdrv.Buffers;
import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Reads and writes of one host file opened with O_DIRECT ({@code cache.direct=on}). The kernel
 * (and the JDK before it) takes only whole blocks of the file system's block size, at block
 * offsets, from buffers whose address is block aligned. This class makes any request fit:
 * <ul>
 * <li>aligned request, aligned direct buffer (every pooled {@link Buffers#lease}): straight through;
 * <li>aligned request, other buffer: through a leased aligned bounce buffer;
 * <li>request that starts or ends inside a block: read-modify-write of the edge blocks
 *     ({@link AlignedIo}) under the file's {@link HostFileTable.Handle#partialBlocks} lock, so two
 *     such writes to different bytes of one block cannot lose each other's bytes. Most callers
 *     never get here: the generic request path pads requests to the driver's alignment first,
 *     and qcow2 writes whole clusters; its header and table entry updates, compressed clusters
 *     and guest writes smaller than a block do.
 * </ul>
 * Writes past the end of the file are combined with others in flight ({@link ExtendingWrites}).
 * One case O_DIRECT cannot express: a write whose last block would reach past both the file's
 * end and the request's end (the last partial block of a file whose size is not a multiple of
 * the block size) would grow the file to the next block boundary. That write goes through the
 * buffered channel instead, which keeps the file's size what a buffered write would make it;
 * the kernel keeps the two views coherent (a direct read of the range writes it back first).
 *
 * <p>Thread safety: any thread; positional I/O needs no lock except the partial-block one.
 */
final class DirectFileIo {

    private final HostFileTable.Handle handle;
    private final String filename;
    private final int align;

    DirectFileIo(HostFileTable.Handle handle, String filename) {
        this.handle = handle;
        this.filename = filename;
        this.align = handle.alignment();
    }

    void read(long offset, ByteBuffer dst) {
        if (AlignedIo.aligned(align, offset, dst.remaining())) {
            readBlocks(offset, dst);
        } else {
            AlignedIo.read(align, this::readBlocks, offset, dst);
        }
    }

    void write(long offset, ByteBuffer src) {
        int len = src.remaining();
        if (AlignedIo.aligned(align, offset, len)) {
            writeBlocks(offset, src);
            return;
        }
        ReentrantLock partial = handle.partialBlocks();
        partial.lock();
        try {
            long end = offset + len;
            long blocksEnd = Math.floorDiv(end + align - 1, align) * align;
            if (blocksEnd > Math.max(end, handle.fileSize().get())) {
                writeBuffered(offset, src);
            } else {
                AlignedIo.write(align, this::readBlocks, this::writeBlocks, Long.MAX_VALUE, offset, src);
            }
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        } finally {
            partial.unlock();
        }
    }

    /** An aligned range; zeros past the end of the file. */
    private void readBlocks(long offset, ByteBuffer dst) {
        if (Buffers.isAligned(dst, align)) {
            pread(offset, dst);
            return;
        }
        try (Bounce b = new Bounce(dst.remaining())) {
            pread(offset, b.buf);
            dst.put(b.buf.flip());
        }
    }

    /** An aligned range. */
    private void writeBlocks(long offset, ByteBuffer src) {
        if (Buffers.isAligned(src, align)) {
            pwrite(offset, src);
            return;
        }
        try (Bounce b = new Bounce(src.remaining())) {
            b.buf.put(src).flip();
            pwrite(offset, b.buf);
        }
    }

    private void pread(long offset, ByteBuffer dst) {
        FileChannel ch = handle.channel();
        try {
            long pos = offset;
            while (dst.hasRemaining()) {
                int n = ch.read(dst, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
                if (n % align != 0) {
                    break; // a short read ends at the end of the file (it is off the block size)
                }
            }
            Buffers.zero(dst);
        } catch (ClosedChannelException e) {
            throw new BlockException(BlockException.Kind.IO, "'" + filename + "' is closed", e);
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        }
    }

    private void pwrite(long offset, ByteBuffer src) {
        FileChannel ch = handle.channel();
        try {
            long end = offset + src.remaining();
            if (end > handle.fileSize().get()) {
                handle.extendingWrites().write(ch, offset, src);
            } else {
                long pos = offset;
                while (src.hasRemaining()) {
                    pos += ch.write(src, pos);
                }
            }
            handle.fileSize().grew(end);
        } catch (IOException e) {
            throw HostFiles.ioError(filename, e);
        }
    }

    private void writeBuffered(long offset, ByteBuffer src) throws IOException {
        FileChannel ch = handle.bufferedChannel();
        long pos = offset;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
        handle.fileSize().grew(pos);
    }

    /** An aligned direct buffer for one request: pooled when the pool's alignment suffices. */
    private final class Bounce implements AutoCloseable {
        final ByteBuffer buf;
        private final Buffers.Lease lease;

        Bounce(int bytes) {
            if (align <= Buffers.ALIGNMENT) {
                lease = Buffers.lease(bytes);
                buf = lease.buffer();
            } else {
                lease = null;
                buf = ByteBuffer.allocateDirect(bytes + align).alignedSlice(align).slice(0, bytes);
            }
        }

        @Override
        public void close() {
            if (lease != null) {
                lease.close();
            }
        }
    }
}
