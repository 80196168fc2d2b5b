package dev.strata.blockdrv.nbd;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * The client side of TLS after {@code NBD_OPT_STARTTLS} was acknowledged, as blocking streams:
 * what {@code strata nbd -L --tls-creds} lists through. The same engine driver as the server's
 * ({@link TlsTransport}), in client mode; the server's certificate is checked against the
 * credentials' CA by {@code context}'s trust managers, and against the host name when one is given.
 *
 * <p>One thread uses a session (the lister's); not shared.
 */
public final class TlsClientSession implements AutoCloseable {

    private final TlsTransport transport;

    private TlsClientSession(TlsTransport transport) {
        this.transport = transport;
    }

    /**
     * Runs the TLS handshake over {@code channel} (blocking) and returns the session.
     *
     * @param hostname the name the server's certificate must carry (subject alternative name, or
     *                 the common name without one), as QEMU checks it; null checks only the CA
     */
    public static TlsClientSession start(SocketChannel channel, SSLContext context, String hostname) throws IOException {
        SSLEngine engine = hostname == null ? context.createSSLEngine() : context.createSSLEngine(hostname, -1);
        engine.setUseClientMode(true);
        if (hostname != null) {
            javax.net.ssl.SSLParameters p = engine.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(p);
        }
        TlsTransport t = new TlsTransport(channel, engine, new ReentrantLock(), ByteBuffer.allocate(0));
        t.handshake();
        return new TlsClientSession(t);
    }

    /** Decrypted bytes from the server; -1 at the end of the session. */
    public InputStream input() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : transport.read(ByteBuffer.wrap(b, off, len));
            }
        };
    }

    /** Bytes to the server, encrypted and sent at once (each write is a TLS record or more). */
    public OutputStream output() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                transport.write(ByteBuffer.wrap(b, off, len));
            }
        };
    }

    /** Sends close_notify and closes the socket. */
    @Override
    public void close() {
        transport.close();
    }
}
