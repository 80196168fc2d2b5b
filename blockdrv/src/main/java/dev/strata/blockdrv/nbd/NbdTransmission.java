package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;

/**
 * The transmission phase of one connection: the reader thread parses requests (reading a WRITE's
 * payload itself, so the stream stays in step) and starts a virtual thread per request; replies
 * go out in whatever order requests finish. At end of stream, {@code NBD_CMD_DISC} or a forced
 * disconnect, it stops reading and waits for the requests in flight to answer before the socket
 * closes, so a client that half-closes its side still gets every reply.
 *
 * <p>{@code slots} and {@code budget} bound what one client can have in flight (requests and
 * payload bytes), which keeps a flood from one client from starving the others of memory.
 */
final class NbdTransmission {

    private static final Logger LOG = NbdServer.log();
    static final int MAX_IN_FLIGHT = 256;
    static final int BYTE_BUDGET = 64 << 20;

    private final NbdConnection c;
    private final NbdCommands commands;
    private final BufferPool buffers;
    private final Semaphore slots = new Semaphore(MAX_IN_FLIGHT);
    private final Semaphore budget = new Semaphore(BYTE_BUDGET);

    NbdTransmission(NbdConnection c, NbdExport export) {
        this.c = c;
        this.buffers = c.server.buffers();
        NbdReplies replies = new NbdReplies(c.transport, c.structuredReplies, buffers);
        this.commands = new NbdCommands(export, replies, buffers, c.metaContexts, c.peer, c.server::internalError);
    }

    void run() throws IOException {
        try {
            readRequests();
        } finally {
            // every request in flight answers (or fails to) before the socket is closed
            slots.acquireUninterruptibly(MAX_IN_FLIGHT);
        }
    }

    private void readRequests() throws IOException {
        while (true) {
            slots.acquireUninterruptibly();
            boolean handedOff = false;
            try {
                handedOff = readOne();
                if (!handedOff) {
                    return;
                }
            } finally {
                if (!handedOff) {
                    slots.release();
                }
            }
        }
    }

    /**
     * Reads one request and starts its thread, which then owns the slot; false when the client is
     * done (end of stream, NBD_CMD_DISC, disconnect requested).
     */
    private boolean readOne() throws IOException {
        ByteBuffer h = c.closing() ? null : c.input.next(REQUEST_HEADER);
        if (h == null) {
            if (!c.closing()) {
                LOG.info("nbd: client {} closed the connection without NBD_CMD_DISC", c.peer);
            }
            return false;
        }
        int magic = h.getInt();
        if (magic != REQUEST_MAGIC) {
            throw new NbdProtocolViolation("bad request magic 0x" + Integer.toHexString(magic));
        }
        int flags = Short.toUnsignedInt(h.getShort());
        int type = Short.toUnsignedInt(h.getShort());
        long cookie = h.getLong();
        long offset = h.getLong();
        long length = Integer.toUnsignedLong(h.getInt());
        if (type == CMD_DISC) {
            LOG.debug("nbd: client {} sent NBD_CMD_DISC", c.peer);
            return false;
        }
        if (type == CMD_WRITE && length > MAX_BUFFER) {
            // the payload cannot be skipped at a reasonable cost: answer, then hang up
            commands.replies().error(cookie, EINVAL, "len (" + length + " ) is larger than max len (" + MAX_BUFFER + ")");
            throw new NbdProtocolViolation("NBD_CMD_WRITE of " + length + " bytes exceeds the 32 MiB limit");
        }
        int held = type == CMD_WRITE || type == CMD_READ ? (int) Math.min(length, MAX_BUFFER) : 0;
        budget.acquireUninterruptibly(held);
        ByteBuffer payload = null;
        boolean started = false;
        try {
            if (type == CMD_WRITE) {
                payload = buffers.take((int) length);
                c.input.readFully(payload);
                payload.flip();
            }
            NbdRequest r = new NbdRequest(flags, type, cookie, offset, length, payload);
            Thread.ofVirtual().start(() -> serve(r, held));
            started = true;
            return true;
        } finally {
            if (!started) {
                if (payload != null) {
                    buffers.give(payload);
                }
                budget.release(held);
            }
        }
    }

    private void serve(NbdRequest r, int held) {
        try {
            commands.execute(r);
        } catch (IOException e) {
            // the reply could not be sent: the connection is gone, make the reader notice
            LOG.debug("nbd: client {}: reply to {} failed: {}", c.peer, r.describe(), e.getMessage());
            c.disconnect("reply failed", false);
        } finally {
            if (r.payload() != null) {
                buffers.give(r.payload());
            }
            budget.release(held);
            slots.release();
        }
    }
}
