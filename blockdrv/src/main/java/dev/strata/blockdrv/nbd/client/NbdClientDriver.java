package dev.strata.blockdrv.nbd.client;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.RemoteStorage;
import dev.strata.blockdrv.SupportsDiscard;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU's {@code nbd} block driver: a disk served by an NBD server. Requests are split to the
 * server's maximum block size and sent on one connection with many in flight; the generic path
 * pads them to the server's minimum block size ({@link #requestAlignment()}).
 *
 * <p>A dropped connection: every request in flight fails over to the reconnect logic. A reconnect
 * thread keeps trying to connect again (every {@link #RETRY_MILLIS} ms) until the driver closes.
 * Requests wait for it up to {@code reconnect-delay} seconds counted from the drop and are then
 * re-sent; after that (or at once with the default {@code reconnect-delay=0}) they fail with EIO,
 * while later requests succeed again as soon as a reconnect has succeeded.
 *
 * <p>Threads: any number of request threads; the connection's reader thread; the reconnect
 * thread. {@link #lock} guards {@link #connection}, {@link #downSince} and {@link #closed}.
 */
final class NbdClientDriver implements BlockDriver, SupportsWriteZeroes, SupportsDiscard, RemoteStorage {

    private static final Logger LOG = LoggerFactory.getLogger(NbdClientDriver.class);
    static final long RETRY_MILLIS = 200;
    /** Largest trim/zero/status length sent in one request (the length field is 32 bits). */
    private static final long MAX_LENGTH_FIELD = 1L << 30;

    private final NbdClientTarget target;
    private final NbdHandshake.ExportInfo info;
    private final int alignment;
    private final int maxTransfer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private NbdClientConnection connection;
    private long downSince;
    private boolean closed;
    private Thread reconnector;
    private String lostReason = "";

    NbdClientDriver(NbdClientTarget target, NbdClientConnection first) {
        this.target = target;
        this.connection = first;
        this.info = first.info;
        this.alignment = Math.max(1, info.minBlock());
        int max = info.maxBlock() <= 0 ? MAX_BUFFER : Math.min(info.maxBlock(), MAX_BUFFER);
        this.maxTransfer = Math.max(alignment, max / alignment * alignment);
    }

    NbdHandshake.ExportInfo info() {
        return info;
    }

    @Override
    public String formatName() {
        return "nbd";
    }

    @Override
    public String filename() {
        return target.uri();
    }

    @Override
    public long size() {
        return info.size();
    }

    @Override
    public int requestAlignment() {
        return alignment;
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        while (dst.hasRemaining()) {
            int n = Math.min(dst.remaining(), maxTransfer);
            ByteBuffer part = dst.slice(dst.position(), n);
            long at = offset;
            check(send(c -> c.request(CMD_READ, 0, at, n, null, part)), "read");
            dst.position(dst.position() + n);
            offset += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        while (src.hasRemaining()) {
            int n = Math.min(src.remaining(), maxTransfer);
            ByteBuffer part = src.slice(src.position(), n);
            long at = offset;
            check(send(c -> c.request(CMD_WRITE, 0, at, n, part.duplicate(), null)), "write");
            src.position(src.position() + n);
            offset += n;
        }
    }

    @Override
    public boolean writesZeroesWithoutData() {
        return info.has(TFLAG_SEND_WRITE_ZEROES);
    }

    @Override
    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        if (!info.has(TFLAG_SEND_WRITE_ZEROES)) {
            ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(bytes, maxTransfer));
            for (long done = 0; done < bytes; ) {
                int n = (int) Math.min(bytes - done, zeros.capacity());
                write(offset + done, zeros.clear().limit(n));
                done += n;
            }
            return;
        }
        int flags = mayUnmap ? 0 : CMD_FLAG_NO_HOLE;
        ranges(offset, bytes, (at, n) -> check(send(c -> c.request(CMD_WRITE_ZEROES, flags, at, n, null, null)), "write zeroes"));
    }

    @Override
    public void discard(long offset, long bytes) {
        if (info.has(TFLAG_SEND_TRIM)) {
            ranges(offset, bytes, (at, n) -> check(send(c -> c.request(CMD_TRIM, 0, at, n, null, null)), "discard"));
        }
    }

    @Override
    public void flush() {
        if (info.has(TFLAG_SEND_FLUSH)) {
            check(send(c -> c.request(CMD_FLUSH, 0, 0, 0, null, null)), "flush");
        }
    }

    /**
     * {@code base:allocation} of the first extent: ZERO where the server says it reads as zeros,
     * DATA otherwise (a hole that may not read as zeros is data of unknown content, as in QEMU).
     */
    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        if (info.allocationContext() < 0) {
            return BlockStatus.data(offset, bytes, offset);
        }
        long start = offset / alignment * alignment;
        long want = Math.min(bytes + (offset - start), MAX_LENGTH_FIELD);
        int n = (int) Math.min(want, info.size() - start);
        NbdClientConnection.Pending p = send(c -> c.request(CMD_BLOCK_STATUS, CMD_FLAG_REQ_ONE, start, n, null, null));
        check(p, "block status");
        if (p.extents.isEmpty()) {
            throw new BlockException(BlockException.Kind.IO, "NBD server sent no block status for offset " + offset);
        }
        long[] e = p.extents.get(0);
        long end = Math.min(start + Math.max(e[0], alignment), offset + bytes);
        if (end <= offset) {
            end = Math.min(offset + alignment, offset + bytes);
        }
        return (e[1] & STATE_ZERO) != 0 ? BlockStatus.zero(offset, end - offset)
                : BlockStatus.data(offset, end - offset, offset);
    }

    @FunctionalInterface
    private interface Range {
        void run(long offset, int length);
    }

    private void ranges(long offset, long bytes, Range r) {
        long max = MAX_LENGTH_FIELD / alignment * alignment;
        for (long done = 0; done < bytes; ) {
            int n = (int) Math.min(bytes - done, max);
            r.run(offset + done, n);
            done += n;
        }
    }

    @FunctionalInterface
    private interface Call {
        NbdClientConnection.Pending on(NbdClientConnection c) throws NbdClientConnection.Lost, InterruptedException;
    }

    /** Runs {@code call} on a live connection, waiting for a reconnect within {@code reconnect-delay}. */
    private NbdClientConnection.Pending send(Call call) {
        long delay = TimeUnit.SECONDS.toNanos(target.reconnectDelaySeconds());
        long retryUntil = 0;
        boolean lostOnce = false;
        while (true) {
            NbdClientConnection c = live();
            try {
                return call.on(c);
            } catch (NbdClientConnection.Lost e) {
                lost(c, e);
                // a request in flight is re-sent only within reconnect-delay of its first loss, so a
                // server that drops every connection cannot keep it looping
                long now = System.nanoTime();
                if (!lostOnce) {
                    lostOnce = true;
                    retryUntil = now + delay;
                }
                if (delay == 0 || now - retryUntil >= 0) {
                    throw lostError(e.getMessage());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BlockException(BlockException.Kind.CANCELLED, "NBD request interrupted");
            }
        }
    }

    private NbdClientConnection live() {
        lock.lock();
        try {
            long deadline = downSince + TimeUnit.SECONDS.toNanos(target.reconnectDelaySeconds());
            while (connection == null) {
                if (closed) {
                    throw new BlockException(BlockException.Kind.IO, "NBD connection closed");
                }
                long wait = deadline - System.nanoTime();
                if (wait <= 0) {
                    throw lostError(lostReason);
                }
                changed.awaitNanos(wait);
            }
            return connection;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BlockException(BlockException.Kind.CANCELLED, "NBD request interrupted");
        } finally {
            lock.unlock();
        }
    }

    private BlockException lostError(String reason) {
        return new BlockException(BlockException.Kind.IO, "Connection to the NBD server '" + target.describe()
                + "' is lost (" + reason + "): Input/output error");
    }

    /** Forgets a broken connection (once) and starts reconnecting. */
    private void lost(NbdClientConnection c, NbdClientConnection.Lost why) {
        lock.lock();
        try {
            if (connection != c || closed) {
                return;
            }
            connection = null;
            downSince = System.nanoTime();
            lostReason = why.getMessage();
            LOG.warn("nbd: connection to {} lost ({}); reconnecting, requests wait {} s", target.describe(),
                    why.getMessage(), target.reconnectDelaySeconds());
            reconnector = Thread.ofVirtual().name("nbd-client-reconnect").start(this::reconnect);
        } finally {
            lock.unlock();
        }
        c.close();
    }

    private void reconnect() {
        while (true) {
            lock.lock();
            try {
                if (closed) {
                    return;
                }
            } finally {
                lock.unlock();
            }
            try {
                NbdClientConnection c = NbdClientConnection.open(target);
                if (c.info.size() != info.size()) {
                    c.close();
                    LOG.warn("nbd: {} now serves {} bytes instead of {}; not using it", target.describe(), c.info.size(), info.size());
                } else if (install(c)) {
                    LOG.info("nbd: reconnected to {}", target.describe());
                    return;
                } else {
                    return;
                }
            } catch (BlockException e) {
                LOG.debug("nbd: reconnect to {} failed: {}", target.describe(), e.getMessage());
            }
            try {
                Thread.sleep(RETRY_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private boolean install(NbdClientConnection c) {
        lock.lock();
        try {
            if (closed) {
                c.close();
                return false;
            }
            connection = c;
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    private static void check(NbdClientConnection.Pending p, String what) {
        if (p.error == 0) {
            return;
        }
        BlockException.Kind kind = switch (p.error) {
            case EPERM -> BlockException.Kind.PERMISSION;
            case ENOSPC -> BlockException.Kind.NO_SPACE;
            case EINVAL, EOVERFLOW -> BlockException.Kind.INVALID_ARGUMENT;
            case ENOTSUP -> BlockException.Kind.UNSUPPORTED;
            default -> BlockException.Kind.IO;
        };
        String detail = p.message == null || p.message.isEmpty() ? "" : " (server reported: " + p.message + ")";
        throw new BlockException(kind, "NBD " + what + " failed: " + kind.strerror() + detail);
    }

    @Override
    public void close() {
        NbdClientConnection c;
        Thread r;
        lock.lock();
        try {
            closed = true;
            c = connection;
            connection = null;
            r = reconnector;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (r != null) {
            r.interrupt();
        }
        if (c != null) {
            c.close();
        }
    }
}
