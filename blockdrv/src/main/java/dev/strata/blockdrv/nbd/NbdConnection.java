package dev.strata.blockdrv.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;

/**
 * One client, from greeting to close: negotiation ({@link NbdNegotiation}) then transmission
 * ({@link NbdTransmission}). Every way a connection can end is caught here and logged as one line;
 * nothing a client sends can escape as an exception into the server.
 *
 * <p>Threads: {@link #run} on the connection's own virtual thread (the reader);
 * {@link #disconnect} from any thread. {@code transport} is volatile because STARTTLS replaces it
 * on the reader thread while another thread may want to disconnect; the negotiated fields are
 * written by the reader before the request threads that read them are started.
 */
final class NbdConnection {

    private static final Logger LOG = NbdServer.log();

    final NbdServer server;
    final SocketChannel channel;
    final String peer;
    volatile NbdTransport transport;
    final NbdInput input;
    private volatile boolean closing;
    private volatile boolean negotiated;

    // negotiated state, reader thread only until transmission starts
    boolean tlsActive;
    boolean structuredReplies;
    boolean noZeroes;
    /** The export name the selected meta contexts were chosen for, or null. */
    String metaExportName;
    List<MetaContext> metaContexts = List.of();
    /** The export this client is attached to (counted as its client), or null; reader thread only. */
    private NbdExport attached;

    NbdConnection(NbdServer server, SocketChannel channel, String peer) {
        this.server = server;
        this.channel = channel;
        this.peer = peer;
        this.transport = new PlainTransport(channel);
        this.input = new NbdInput(transport);
    }

    void run() {
        Thread watchdog = Thread.ofVirtual().start(this::handshakeWatchdog);
        NbdExport export = null;
        try {
            sendGreeting();
            export = new NbdNegotiation(this).negotiate();
            negotiated = true;
            watchdog.interrupt();
            if (export == null) {
                return;
            }
            LOG.debug("nbd: client {} serving export '{}'", peer, export.name());
            new NbdTransmission(this, export).run();
        } catch (EOFException e) {
            if (!closing) {
                LOG.info("nbd: client {} disconnected{}: {}", peer, export == null ? " during negotiation" : "", e.getMessage());
            }
        } catch (SSLException e) {
            LOG.info("nbd: client {}: TLS failed: {}", peer, e.getMessage());
        } catch (IOException e) {
            if (!closing) {
                LOG.info("nbd: client {}: connection error: {}", peer, e.getMessage());
            }
        } catch (NbdProtocolViolation e) {
            LOG.info("nbd: client {}: {}, disconnecting", peer, e.getMessage());
        } catch (RuntimeException e) {
            server.internalError();
            LOG.warn("nbd: client {}: internal error, disconnecting: {}", peer, e.toString(), e);
        } finally {
            if (attached != null) {
                server.detach(attached, this);
            }
            negotiated = true;
            watchdog.interrupt();
            transport.close();
            server.connectionEnded(this);
        }
    }

    private void handshakeWatchdog() {
        try {
            Thread.sleep(NbdServer.HANDSHAKE_LIMIT_MS);
        } catch (InterruptedException e) {
            return;
        }
        if (!negotiated) {
            LOG.info("nbd: client {} did not finish negotiation within {} s, disconnecting", peer, NbdServer.HANDSHAKE_LIMIT_MS / 1000);
            disconnect("handshake timeout", true);
        }
    }

    private void sendGreeting() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(18);
        b.putLong(NbdProtocol.NBDMAGIC).putLong(NbdProtocol.IHAVEOPT)
                .putShort((short) (NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES)).flip();
        transport.write(b);
    }

    /**
     * Counts this connection as a client of {@code export} from now on (negotiation calls it just
     * before the final reply); false when the export was removed meanwhile. Reader thread.
     */
    boolean attachTo(NbdExport export) {
        if (!server.attach(export, this)) {
            LOG.info("nbd: client {}: export '{}' was removed during negotiation", peer, export.name());
            return false;
        }
        attached = export;
        return true;
    }

    boolean closing() {
        return closing;
    }

    /**
     * Ends the connection from outside: the reader sees end of stream and requests in flight
     * finish their I/O before the socket closes. Forced (export removed hard, server stopped,
     * handshake too slow) also shuts the sending side, so replies still owed are dropped and a
     * client that stopped reading cannot hold the connection open; unforced (a reply could not be
     * sent) leaves it, as it is broken already.
     */
    void disconnect(String why, boolean force) {
        if (closing) {
            return;
        }
        closing = true;
        LOG.debug("nbd: disconnecting client {}: {}", peer, why);
        if (force) {
            transport.shutdownBoth();
        } else {
            transport.shutdownInput();
        }
    }
}
