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
        NbdReplies replies = new NbdReplies(c.transport, c.structuredReplies);
        this.commands = new NbdCommands(export, replies, buffers, c.metaContexts, c.peer);
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
            ByteBuffer h = c.closing() ? null : c.input.next(REQUEST_HEADER);
            if (h == null) {
                slots.release();
                if (!c.closing()) {
                    LOG.info("nbd: client {} closed the connection without NBD_CMD_DISC", c.peer);
                }
                return;
            }
            int magic = h.getInt();
            if (magic != REQUEST_MAGIC) {
                slots.release();
                throw new NbdProtocolViolation("bad request magic 0x" + Integer.toHexString(magic));
            }
            int flags = Short.toUnsignedInt(h.getShort());
            int type = Short.toUnsignedInt(h.getShort());
            long cookie = h.getLong();
            long offset = h.getLong();
            long length = Integer.toUnsignedLong(h.getInt());
            if (type == CMD_DISC) {
                slots.release();
                LOG.debug("nbd: client {} sent NBD_CMD_DISC", c.peer);
                return;
            }
            int held = type == CMD_WRITE || type == CMD_READ ? (int) Math.min(length, MAX_BUFFER) : 0;
            ByteBuffer payload = null;
            if (type == CMD_WRITE) {
                if (length > MAX_BUFFER) {
                    // the payload cannot be skipped at a reasonable cost: answer, then hang up
                    commands.replies().error(cookie, EINVAL, "len (" + length + ") is larger than max len (" + MAX_BUFFER + ")");
                    slots.release();
                    throw new NbdProtocolViolation("NBD_CMD_WRITE of " + length + " bytes exceeds the 32 MiB limit");
                }
                budget.acquireUninterruptibly(held);
                payload = buffers.take((int) length);
                try {
                    c.input.readFully(payload);
                } catch (IOException e) {
                    buffers.give(payload);
                    budget.release(held);
                    slots.release();
                    throw e;
                }
                payload.flip();
            } else if (held > 0) {
                budget.acquireUninterruptibly(held);
            }
            NbdRequest r = new NbdRequest(flags, type, cookie, offset, length, payload);
            Thread.ofVirtual().start(() -> serve(r, held));
        }
    }

    private void serve(NbdRequest r, int held) {
        try {
            commands.execute(r);
        } catch (IOException e) {
            // the reply could not be sent: the connection is gone, make the reader notice
            LOG.debug("nbd: client {}: reply to {} failed: {}", c.peer, r.describe(), e.getMessage());
            c.disconnect("reply failed");
        } finally {
            if (r.payload() != null) {
                buffers.give(r.payload());
            }
            budget.release(held);
            slots.release();
        }
    }
}
