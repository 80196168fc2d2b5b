package dev.strata.blockdrv.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/**
 * NBD over TLS, with the JDK's {@link SSLEngine} driven over a socket channel. SSLSocket cannot be
 * used because unix sockets have no {@code java.net.Socket}.
 *
 * <p>Threads: the engine allows one unwrapping and one wrapping thread at once. The connection's
 * reader thread alone unwraps (guarding {@code netIn}/{@code appIn}); writers wrap under
 * {@link #writeLock()} (guarding {@code netOut}). The handshake runs before any request thread
 * exists.
 */
final class TlsTransport implements NbdTransport {

    private static final ByteBuffer[] NOTHING = {ByteBuffer.allocate(0)};

    private final SocketChannel channel;
    private final SSLEngine engine;
    private final ReentrantLock writeLock;
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    private final ByteBuffer netOut;
    private boolean closed;

    /**
     * @param alreadyRead bytes the plain reader had buffered past the STARTTLS option (the start of
     *                    the client's hello when it did not wait for our answer)
     */
    TlsTransport(SocketChannel channel, SSLEngine engine, ReentrantLock writeLock, ByteBuffer alreadyRead) {
        this.channel = channel;
        this.engine = engine;
        this.writeLock = writeLock;
        int packet = engine.getSession().getPacketBufferSize();
        this.netIn = ByteBuffer.allocateDirect(Math.max(packet, alreadyRead.remaining()));
        netIn.put(alreadyRead).flip();
        this.appIn = ByteBuffer.allocateDirect(engine.getSession().getApplicationBufferSize()).flip();
        this.netOut = ByteBuffer.allocateDirect(packet);
    }

    SSLEngine engine() {
        return engine;
    }

    /** Runs the TLS handshake to completion on the calling (reader) thread. */
    void handshake() throws IOException {
        engine.beginHandshake();
        while (true) {
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP -> wrapOnce(NOTHING);
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (!unwrapOnce()) {
                        throw new EOFException("client closed the connection during the TLS handshake");
                    }
                }
                case NEED_TASK -> runTasks();
                case FINISHED, NOT_HANDSHAKING -> {
                    return;
                }
            }
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /** One unwrap step into {@code appIn}, reading the network when the engine needs more; false at end of stream. */
    private boolean unwrapOnce() throws IOException {
        appIn.compact();
        try {
            while (true) {
                SSLEngineResult r = engine.unwrap(netIn, appIn);
                switch (r.getStatus()) {
                    case OK -> {
                        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                            runTasks();
                        }
                        if (engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                            // the handshake, or a post-handshake message (key update), wants an answer
                            writeLock.lock();
                            try {
                                wrapOnce(NOTHING);
                            } finally {
                                writeLock.unlock();
                            }
                        }
                        return true;
                    }
                    case CLOSED -> {
                        closed = true;
                        return false;
                    }
                    case BUFFER_OVERFLOW -> {
                        ByteBuffer bigger = ByteBuffer.allocateDirect(appIn.capacity() * 2);
                        appIn.flip();
                        bigger.put(appIn);
                        appIn = bigger;
                    }
                    case BUFFER_UNDERFLOW -> {
                        if (netIn.limit() == netIn.capacity() && netIn.position() == 0) {
                            ByteBuffer bigger = ByteBuffer.allocateDirect(netIn.capacity() * 2);
                            bigger.put(netIn).flip();
                            netIn = bigger;
                        }
                        netIn.compact();
                        int n = channel.read(netIn);
                        netIn.flip();
                        if (n < 0) {
                            closed = true;
                            return false;
                        }
                    }
                }
            }
        } finally {
            appIn.flip();
        }
    }

    /** One wrap of (part of) {@code srcs} sent to the network. Caller holds the write lock or is the handshake. */
    private void wrapOnce(ByteBuffer[] srcs) throws IOException {
        netOut.clear();
        SSLEngineResult r = engine.wrap(srcs, netOut);
        netOut.flip();
        while (netOut.hasRemaining()) {
            channel.write(netOut);
        }
        if (r.getStatus() == SSLEngineResult.Status.CLOSED && hasRemaining(srcs)) {
            throw new SSLException("TLS session closed");
        }
        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            runTasks();
        }
    }

    private static boolean hasRemaining(ByteBuffer[] srcs) {
        for (ByteBuffer b : srcs) {
            if (b.hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        while (!appIn.hasRemaining()) {
            if (closed || !unwrapOnce()) {
                return -1;
            }
        }
        int n = Math.min(appIn.remaining(), dst.remaining());
        dst.put(appIn.slice(appIn.position(), n));
        appIn.position(appIn.position() + n);
        return n;
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        writeLock.lock();
        try {
            while (hasRemaining(srcs)) {
                wrapOnce(srcs);
            }
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public ReentrantLock writeLock() {
        return writeLock;
    }

    @Override
    public SocketChannel channel() {
        return channel;
    }

    @Override
    public void close() {
        if (channel.isOpen() && writeLock.tryLock()) {
            try {
                engine.closeOutbound();
                wrapOnce(NOTHING);
            } catch (IOException | RuntimeException ignored) {
                // close_notify is a courtesy; the socket closes either way
            } finally {
                writeLock.unlock();
            }
        }
        NbdTransport.closeQuietly(channel);
    }
}
