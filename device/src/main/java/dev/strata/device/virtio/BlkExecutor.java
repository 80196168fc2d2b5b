package dev.strata.device.virtio;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.device.GuestMemory;
import dev.strata.device.IoAccounting;
import dev.strata.device.IoErrorHandler;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Runs a parsed virtio-blk request against the backend: the one place where block-layer failures
 * become a status byte, through the device's rerror/werror policy, and where accounting happens.
 * A request stopped by {@code stop}/{@code enospc} waits here for {@code cont} and runs again from
 * the start (QEMU re-submits it the same way).
 *
 * <p>Thread safety: stateless apart from the shared accounting and error handler (both
 * thread-safe); called concurrently by a device's request workers.
 */
final class BlkExecutor {

    private final BlockBackend backend;
    private final GuestMemory memory;
    private final VirtioBlkConfig config;
    private final IoAccounting accounting;
    private final IoErrorHandler errors;
    private final byte[] id;

    BlkExecutor(BlockBackend backend, GuestMemory memory, VirtioBlkConfig config, IoAccounting accounting,
                IoErrorHandler errors, String serial) {
        this.backend = backend;
        this.memory = memory;
        this.config = config;
        this.accounting = accounting;
        this.errors = errors;
        byte[] s = serial == null ? new byte[0] : serial.getBytes(StandardCharsets.US_ASCII);
        this.id = new byte[VirtioBlkSpec.ID_BYTES];
        System.arraycopy(s, 0, id, 0, Math.min(s.length, id.length));
    }

    /** Accounts a request the parser refused (QEMU counts out-of-range I/O as invalid). */
    void refused(BlkRequest r, ParseStatus ps) {
        if (ps != ParseStatus.OUT_OF_RANGE && ps != ParseStatus.UNALIGNED && ps != ParseStatus.READ_ONLY) {
            return;
        }
        switch (r.type) {
            case VirtioBlkSpec.T_IN -> accounting.invalid(IoAccounting.Type.READ);
            case VirtioBlkSpec.T_OUT, VirtioBlkSpec.T_WRITE_ZEROES -> accounting.invalid(IoAccounting.Type.WRITE);
            case VirtioBlkSpec.T_DISCARD -> accounting.invalid(IoAccounting.Type.UNMAP);
            default -> { }
        }
    }

    /** Executes a request that parsed OK; returns its status byte. */
    int execute(BlkRequest r, ByteBuffer view) {
        if (r.type == VirtioBlkSpec.T_GET_ID) {
            memory.write(r.segAddr[0], r.segLen[0] >= id.length ? id : java.util.Arrays.copyOf(id, r.segLen[0]));
            return VirtioBlkSpec.S_OK;
        }
        IoAccounting.Type acct = switch (r.type) {
            case VirtioBlkSpec.T_IN -> IoAccounting.Type.READ;
            case VirtioBlkSpec.T_FLUSH -> IoAccounting.Type.FLUSH;
            case VirtioBlkSpec.T_DISCARD -> IoAccounting.Type.UNMAP;
            default -> IoAccounting.Type.WRITE;
        };
        IoOperation op = r.type == VirtioBlkSpec.T_IN ? IoOperation.READ : IoOperation.WRITE;
        long start = System.nanoTime();
        while (true) {
            try {
                long bytes = perform(r, view);
                accounting.done(acct, bytes, start);
                return VirtioBlkSpec.S_OK;
            } catch (BlockException e) {
                ErrorAction action = errors.handle(op, e);
                switch (action) {
                    case IGNORE -> {
                        // QEMU accounts an ignored failure as done, with the request's size
                        boolean rw = r.type == VirtioBlkSpec.T_IN || r.type == VirtioBlkSpec.T_OUT;
                        accounting.done(acct, rw ? r.dataLen : 0, start);
                        return VirtioBlkSpec.S_OK;
                    }
                    case REPORT -> {
                        accounting.failed(acct, start);
                        return VirtioBlkSpec.S_IOERR;
                    }
                    case STOP -> {
                        if (!errors.awaitRetry()) {
                            accounting.failed(acct, start);
                            return VirtioBlkSpec.S_IOERR;
                        }
                    }
                }
            }
        }
    }

    /** The block-layer calls of one request; returns the bytes to account. */
    private long perform(BlkRequest r, ByteBuffer view) {
        long offset = r.offset();
        switch (r.type) {
            case VirtioBlkSpec.T_IN -> {
                for (int i = 0; i < r.segCount; i++) {
                    backend.read(offset, memory.window(view, r.segAddr[i], r.segLen[i]));
                    offset += r.segLen[i];
                }
                return r.dataLen;
            }
            case VirtioBlkSpec.T_OUT -> {
                for (int i = 0; i < r.segCount; i++) {
                    backend.write(offset, memory.window(view, r.segAddr[i], r.segLen[i]));
                    offset += r.segLen[i];
                }
                accounting.wroteUpTo(offset);
                return r.dataLen;
            }
            case VirtioBlkSpec.T_FLUSH -> {
                backend.flush();
                return 0;
            }
            case VirtioBlkSpec.T_DISCARD -> {
                long bytes = 0;
                for (int i = 0; i < r.rangeCount; i++) {
                    long len = (r.rangeSectors[i] & 0xffffffffL) << VirtioBlkSpec.SECTOR_SHIFT;
                    backend.discard(r.rangeSector[i] << VirtioBlkSpec.SECTOR_SHIFT, len);
                    bytes += len;
                }
                return bytes;
            }
            case VirtioBlkSpec.T_WRITE_ZEROES -> {
                long bytes = 0;
                for (int i = 0; i < r.rangeCount; i++) {
                    long off = r.rangeSector[i] << VirtioBlkSpec.SECTOR_SHIFT;
                    long len = (r.rangeSectors[i] & 0xffffffffL) << VirtioBlkSpec.SECTOR_SHIFT;
                    boolean unmap = config.writeZeroesMayUnmap()
                            && (r.rangeFlags[i] & VirtioBlkSpec.DWZ_FLAG_UNMAP) != 0;
                    backend.writeZeroes(off, len, unmap);
                    accounting.wroteUpTo(off + len);
                    bytes += len;
                }
                return bytes;
            }
            default -> throw new IllegalStateException("unparsed request type " + r.type);
        }
    }
}
