package dev.strata.blockdrv.nbd.client;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockStatus;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import dev.strata.blockdrv.nbd.NbdClientTls;
import dev.strata.blockdrv.nbd.NbdTransport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One negotiated connection to an NBD server in the transmission phase. Any number of threads
 * send requests at once (each request is written whole under {@link #writeLock}); one virtual
 * reader thread reads replies and hands each to the request with its handle, writing read data
 * straight into the waiting caller's buffer. When the stream breaks, every request in flight and
 * every later one fails with {@link Lost}; the owner ({@link NbdClientDriver}) decides whether to
 * reconnect and retry.
 *
 * <p>Threads: callers of {@link #request}; the reader thread. {@link #pending} is a concurrent map;
 * each {@link Pending} is filled by the reader before its latch opens.
 */
final class NbdClientConnection implements AutoCloseable {

    /** The connection broke (EOF, socket error, protocol violation): the request may be retried on a new one. */
    static final class Lost extends Exception {
        Lost(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Requests in flight per connection: enough to keep a long, fat link full. */
    static final int MAX_IN_FLIGHT = 64;

    private final NbdTransport ch;
    final NbdHandshake.ExportInfo info;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final ConcurrentHashMap<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong handles = new AtomicLong(1);
    private final Semaphore slots = new Semaphore(MAX_IN_FLIGHT);
    private final Thread reader;
    private volatile Lost broken;

    private NbdClientConnection(NbdTransport ch, NbdHandshake.ExportInfo info) {
        this.ch = ch;
        this.info = info;
        this.reader = Thread.ofVirtual().name("nbd-client-reader").unstarted(this::readLoop);
    }

    /** Connects to {@code target} and negotiates its export; the reader thread runs from here on. */
    static NbdClientConnection open(NbdClientTarget target) {
        NbdTransport plain = NbdClientTls.plain(target.connect());
        try {
            NbdHandshake.Negotiated n = NbdHandshake.negotiate(plain, target);
            NbdClientConnection c = new NbdClientConnection(n.transport(), n.info());
            c.reader.start();
            return c;
        } catch (IOException e) {
            plain.close();
            throw new BlockException(BlockException.Kind.IO, "Failed to negotiate with the NBD server '" + target.describe()
                    + "': " + e.getMessage(), e);
        } catch (RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    boolean isBroken() {
        return broken != null;
    }

    /** One request waiting for its reply. Written by the reader thread, read by the caller after {@link #done}. */
    static final class Pending {
        final int type;
        final long offset;
        final int length;
        final ByteBuffer dst;
        final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        int error;
        String message;
        final List<long[]> extents = new ArrayList<>();
        Lost lost;

        Pending(int type, long offset, int length, ByteBuffer dst) {
            this.type = type;
            this.offset = offset;
            this.length = length;
            this.dst = dst;
        }
    }

    /**
     * Sends one request and waits for its reply. {@code payload} is a write's data; {@code dst}
     * receives a read's data (exactly {@code length} bytes, from its position). Returns the
     * finished request (its error is 0 or an errno); throws {@link Lost} when the connection broke.
     */
    Pending request(int type, int flags, long offset, int length, ByteBuffer payload, ByteBuffer dst)
            throws Lost, InterruptedException {
        Lost b = broken;
        if (b != null) {
            throw b;
        }
        slots.acquire();
        try {
            Pending p = new Pending(type, offset, length, dst);
            long handle = handles.getAndIncrement();
            pending.put(handle, p);
            ByteBuffer h = ByteBuffer.allocate(REQUEST_HEADER).putInt(REQUEST_MAGIC).putShort((short) flags)
                    .putShort((short) type).putLong(handle).putLong(offset).putInt(length).flip();
            writeLock.lock();
            try {
                if (broken != null) {
                    throw broken;
                }
                ch.write(payload == null ? new ByteBuffer[] {h} : new ByteBuffer[] {h, payload});
            } catch (IOException e) {
                fail(new Lost("Failed to send the request to the NBD server: " + e.getMessage(), e));
            } finally {
                writeLock.unlock();
            }
            p.done.await();
            if (p.lost != null) {
                throw p.lost;
            }
            return p;
        } finally {
            slots.release();
        }
    }

    private void readLoop() {
        try {
            while (true) {
                readReply();
            }
        } catch (IOException | RuntimeException e) {
            fail(new Lost(broken != null ? broken.getMessage()
                    : e instanceof EOFException ? "Connection closed by the NBD server"
                    : "Failed to read from the NBD server: " + e, e));
        }
    }

    private void readReply() throws IOException {
        ByteBuffer h = read(4);
        int magic = h.getInt();
        if (magic == SIMPLE_REPLY_MAGIC) {
            ByteBuffer r = read(12);
            int error = r.getInt();
            Pending p = take(r.getLong());
            if (p.type == CMD_READ && error == 0) {
                if (info.structured()) {
                    throw violation("simple reply to a read after structured replies were negotiated");
                }
                readInto(p.dst.duplicate(), p.length);
            }
            complete(p, error, null);
            return;
        }
        if (magic != STRUCTURED_REPLY_MAGIC || !info.structured()) {
            throw violation("bad reply magic 0x" + Integer.toHexString(magic));
        }
        ByteBuffer r = read(STRUCTURED_REPLY_HEADER - 4);
        int flags = r.getShort() & 0xffff;
        int type = r.getShort() & 0xffff;
        long handle = r.getLong();
        int len = r.getInt();
        Pending p = pending.get(handle);
        if (p == null) {
            throw violation("reply for unknown handle " + handle);
        }
        if (len < 0 || len > MAX_BUFFER + 64) {
            throw violation("reply chunk too large");
        }
        chunk(p, type, len);
        if ((flags & REPLY_FLAG_DONE) != 0) {
            pending.remove(handle);
            p.done.countDown();
        }
    }

    private void chunk(Pending p, int type, int len) throws IOException {
        switch (type) {
            case REPLY_TYPE_NONE -> {
                if (len != 0) {
                    throw violation("NBD_REPLY_TYPE_NONE with a payload");
                }
            }
            case REPLY_TYPE_OFFSET_DATA -> {
                long off = read(8).getLong();
                int n = len - 8;
                checkInRead(p, off, n);
                ByteBuffer d = p.dst.duplicate();
                d.position(p.dst.position() + (int) (off - p.offset));
                readInto(d, n);
            }
            case REPLY_TYPE_OFFSET_HOLE -> {
                ByteBuffer b = read(12);
                long off = b.getLong();
                int n = b.getInt();
                checkInRead(p, off, n);
                int from = p.dst.position() + (int) (off - p.offset);
                for (int i = 0; i < n; i++) {
                    p.dst.put(from + i, (byte) 0);
                }
            }
            case REPLY_TYPE_BLOCK_STATUS -> {
                if (p.type != CMD_BLOCK_STATUS || len < 12 || (len - 4) % 8 != 0) {
                    throw violation("malformed block status chunk");
                }
                ByteBuffer b = read(len);
                long context = b.getInt() & 0xffffffffL;
                if (context == info.allocationContext()) {
                    while (b.hasRemaining()) {
                        p.extents.add(new long[] {b.getInt() & 0xffffffffL, b.getInt() & 0xffffffffL});
                    }
                }
            }
            default -> {
                if ((type & 0x8000) == 0 || len < 6) {
                    throw violation("unknown reply chunk type " + type);
                }
                ByteBuffer b = read(len);
                int error = b.getInt();
                int msgLen = b.getShort() & 0xffff;
                if (msgLen > b.remaining()) {
                    throw violation("error chunk message past its end");
                }
                byte[] msg = new byte[msgLen];
                b.get(msg);
                if (p.error == 0) {
                    p.error = error == 0 ? EIO : error;
                    p.message = new String(msg, java.nio.charset.StandardCharsets.UTF_8);
                }
            }
        }
    }

    private void checkInRead(Pending p, long off, int n) throws IOException {
        if (p.type != CMD_READ || n < 0 || off < p.offset || off + n > p.offset + p.length) {
            throw violation("read chunk outside its request");
        }
    }

    private Pending take(long handle) throws IOException {
        Pending p = pending.remove(handle);
        if (p == null) {
            throw violation("reply for unknown handle " + handle);
        }
        return p;
    }

    private static void complete(Pending p, int error, String message) {
        p.error = error;
        p.message = message;
        p.done.countDown();
    }

    private IOException violation(String what) {
        return new IOException("NBD protocol violation: " + what);
    }

    /** Marks the connection broken, closes it and wakes every waiting request. */
    private void fail(Lost why) {
        writeLock.lock();
        try {
            if (broken == null) {
                broken = why;
            }
        } finally {
            writeLock.unlock();
        }
        ch.close();
        for (Long h : List.copyOf(pending.keySet())) {
            Pending p = pending.remove(h);
            if (p != null) {
                p.lost = broken;
                p.done.countDown();
            }
        }
    }

    private ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        readInto(b, n); // fills a slice: b stays at position 0, limit n
        return b;
    }

    private void readInto(ByteBuffer b, int n) throws IOException {
        ByteBuffer w = b.slice(b.position(), n);
        while (w.hasRemaining()) {
            if (ch.read(w) < 0) {
                throw new EOFException();
            }
        }
    }

    /** Says goodbye ({@code NBD_CMD_DISC}) if the connection still works, then closes it. */
    @Override
    public void close() {
        if (broken == null) {
            writeLock.lock();
            try {
                ByteBuffer h = ByteBuffer.allocate(REQUEST_HEADER).putInt(REQUEST_MAGIC).putShort((short) 0)
                        .putShort((short) CMD_DISC).putLong(0).putLong(0).putInt(0).flip();
                ch.write(h);
            } catch (IOException ignored) {
                // closing anyway
            } finally {
                writeLock.unlock();
            }
        }
        fail(new Lost("NBD connection closed", null));
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
