package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.slf4j.Logger;

/**
 * Executes transmission requests against the export's backend and answers each exactly once.
 * Checks come first, in QEMU's order (command, flags, read-only, size, range), so a bad request
 * is answered with the errno QEMU's server gives and never touches the disk. Called from one
 * virtual thread per request; the fields are immutable.
 */
final class NbdCommands {

    private static final Logger LOG = NbdServer.log();

    private final NbdExport export;
    private final BlockBackend backend;
    private final NbdReplies replies;
    private final BufferPool buffers;
    private final List<MetaContext> contexts;
    private final String peer;
    private final Runnable onInternalError;

    NbdCommands(NbdExport export, NbdReplies replies, BufferPool buffers, List<MetaContext> contexts, String peer,
            Runnable onInternalError) {
        this.onInternalError = onInternalError;
        this.export = export;
        this.backend = export.backend();
        this.replies = replies;
        this.buffers = buffers;
        this.contexts = contexts;
        this.peer = peer;
    }

    NbdReplies replies() {
        return replies;
    }

    /** A request refused before any I/O: the errno to send and the message (logged, and sent in an error chunk). */
    private static final class Refused extends Exception {
        final int errno;

        Refused(int errno, String message) {
            super(message, null, false, false);
            this.errno = errno;
        }
    }

    void execute(NbdRequest r) throws IOException {
        try {
            check(r);
            switch (r.type()) {
                case CMD_READ -> read(r);
                case CMD_WRITE -> {
                    backend.write(r.offset(), r.payload());
                    flushIfAsked(r);
                    replies.ok(r.cookie());
                }
                case CMD_FLUSH -> {
                    backend.flush();
                    replies.ok(r.cookie());
                }
                case CMD_TRIM -> {
                    backend.discard(r.offset(), r.length());
                    flushIfAsked(r);
                    replies.ok(r.cookie());
                }
                case CMD_WRITE_ZEROES -> writeZeroes(r);
                case CMD_CACHE -> cache(r);
                case CMD_BLOCK_STATUS -> blockStatus(r);
                default -> throw new IllegalStateException("unchecked command " + r.type());
            }
        } catch (Refused e) {
            LOG.info("nbd: client {}: {} refused: {}", peer, r.describe(), e.getMessage());
            replies.error(r.cookie(), e.errno, e.getMessage());
        } catch (BlockException e) {
            LOG.info("nbd: client {}: {} failed: {}", peer, r.describe(), e.getMessage());
            replies.error(r.cookie(), errno(e.kind()), e.getMessage());
        } catch (RuntimeException e) {
            onInternalError.run();
            LOG.warn("nbd: client {}: {} failed: {}", peer, r.describe(), e.toString(), e);
            replies.error(r.cookie(), EIO, "internal error: " + e);
        }
    }

    /**
     * QEMU 7.2's checks in its order: size limit, read-only, range, flags, then per command. The
     * errno is EINVAL throughout, as QEMU sends (its read-only refusal included); the message
     * text is QEMU's too.
     */
    private void check(NbdRequest r) throws Refused {
        int type = r.type();
        if ((type == CMD_READ || type == CMD_CACHE) && r.length() > MAX_BUFFER) {
            throw new Refused(EINVAL, "len (" + r.length() + " ) is larger than max len (" + MAX_BUFFER + ")");
        }
        boolean writes = type == CMD_WRITE || type == CMD_WRITE_ZEROES || type == CMD_TRIM;
        if (writes && !export.writable()) {
            throw new Refused(EINVAL, "Export is read-only");
        }
        long size = backend.size();
        long end = r.end();
        if (type != CMD_FLUSH && (end < 0 || end > size)) {
            throw new Refused(EINVAL, "operation past EOF; From: " + Long.toUnsignedString(r.offset())
                    + ", Len: " + r.length() + ", Size: " + size);
        }
        int allowed = CMD_FLAG_FUA | switch (type) {
            case CMD_READ -> replies.structured() ? CMD_FLAG_DF : 0;
            case CMD_WRITE_ZEROES -> CMD_FLAG_NO_HOLE | CMD_FLAG_FAST_ZERO;
            case CMD_BLOCK_STATUS -> CMD_FLAG_REQ_ONE;
            default -> 0;
        };
        if ((r.flags() & ~allowed) != 0) {
            throw new Refused(EINVAL, "unsupported flags for command " + qemuName(type) + " (got 0x" + Integer.toHexString(r.flags()) + ")");
        }
        switch (type) {
            case CMD_READ, CMD_WRITE, CMD_FLUSH, CMD_TRIM, CMD_CACHE, CMD_WRITE_ZEROES -> {
            }
            case CMD_BLOCK_STATUS -> {
                if (r.length() == 0) {
                    throw new Refused(EINVAL, "need non-zero length");
                }
                if (!replies.structured() || contexts.isEmpty()) {
                    throw new Refused(EINVAL, "CMD_BLOCK_STATUS not negotiated");
                }
            }
            default -> throw new Refused(EINVAL, "invalid request type (" + type + ") received");
        }
    }

    /** The command names QEMU puts in its error messages. */
    private static String qemuName(int type) {
        return switch (type) {
            case CMD_READ -> "read";
            case CMD_WRITE -> "write";
            case CMD_FLUSH -> "flush";
            case CMD_TRIM -> "trim";
            case CMD_CACHE -> "cache";
            case CMD_WRITE_ZEROES -> "write zeroes";
            case CMD_BLOCK_STATUS -> "block status";
            default -> "<unknown>";
        };
    }

    /**
     * FUA: the write is flushed before the reply. A writethrough export needs nothing here: its
     * backend's write cache is off, so the backend flushes every write itself.
     */
    private void flushIfAsked(NbdRequest r) {
        if ((r.flags() & CMD_FLAG_FUA) != 0) {
            backend.flush();
        }
    }

    private void writeZeroes(NbdRequest r) throws Refused, IOException {
        if ((r.flags() & CMD_FLAG_FAST_ZERO) != 0 && !(backend.root().driver() instanceof SupportsWriteZeroes)) {
            throw new Refused(ENOTSUP, "fast zeroing is not supported by " + backend.root().formatName());
        }
        backend.writeZeroes(r.offset(), r.length(), (r.flags() & CMD_FLAG_NO_HOLE) == 0);
        flushIfAsked(r);
        replies.ok(r.cookie());
    }

    private void read(NbdRequest r) throws IOException {
        int len = (int) r.length();
        if (len == 0) {
            if (replies.structured()) {
                replies.none(r.cookie());
            } else {
                replies.ok(r.cookie());
            }
            return;
        }
        ByteBuffer buf = buffers.take(len);
        try {
            if (replies.structured() && (r.flags() & CMD_FLAG_DF) == 0) {
                SparseRead.send(backend, r.cookie(), r.offset(), buf, replies);
            } else {
                backend.read(r.offset(), buf);
                buf.flip();
                replies.data(r.cookie(), r.offset(), buf);
            }
        } finally {
            buffers.give(buf);
        }
    }

    /** Reads the range through to warm caches (QEMU's prefetch); the data is dropped. */
    private void cache(NbdRequest r) throws IOException {
        long off = r.offset();
        long end = r.end();
        ByteBuffer buf = buffers.take((int) Math.min(1 << 20, Math.max(1, r.length())));
        try {
            while (off < end) {
                buf.clear().limit((int) Math.min(buf.capacity(), end - off));
                backend.read(off, buf);
                off += buf.position();
            }
        } finally {
            buffers.give(buf);
        }
        replies.ok(r.cookie());
    }

    private void blockStatus(NbdRequest r) throws IOException {
        boolean one = (r.flags() & CMD_FLAG_REQ_ONE) != 0;
        List<ByteBuffer> payloads = new java.util.ArrayList<>(contexts.size());
        for (MetaContext m : contexts) {
            payloads.add(BlockStatusEncoder.encode(backend, m, r.offset(), r.length(), one));
        }
        replies.blockStatus(r.cookie(), payloads);
    }

    /** The NBD errno for a block-layer failure. */
    static int errno(BlockException.Kind kind) {
        return switch (kind) {
            case NO_SPACE -> ENOSPC;
            case PERMISSION -> EPERM;
            case INVALID_ARGUMENT -> EINVAL;
            case UNSUPPORTED -> ENOTSUP;
            default -> EIO;
        };
    }
}
