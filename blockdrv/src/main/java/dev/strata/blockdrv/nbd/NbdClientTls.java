package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * The client side of NBD's STARTTLS: after the server acknowledged {@code NBD_OPT_STARTTLS},
 * {@link #start} runs the TLS handshake on the socket and returns the transport the rest of the
 * negotiation and the transmission phase use. The server's certificate must chain to the
 * credentials' CA, and, when a host name is known ({@code tls-hostname}, or the TCP host as
 * QEMU uses it), match it. A failure is an error with QEMU's (GnuTLS's) wording, never a
 * fallback to plain text.
 *
 * <p>Stateless; called on the connecting thread.
 */
public final class NbdClientTls {

    private NbdClientTls() {
    }

    /** The plain transport of a freshly connected client socket. */
    public static NbdTransport plain(SocketChannel channel) {
        return new PlainTransport(channel);
    }

    /**
     * Runs the TLS handshake over {@code channel}.
     *
     * @param hostname the name the server's certificate must carry, or null for no name check
     * @throws BlockException IO with QEMU's text when the handshake fails
     */
    public static NbdTransport start(SocketChannel channel, SSLContext context, String hostname) {
        SSLEngine engine = hostname == null ? context.createSSLEngine() : context.createSSLEngine(hostname, 0);
        engine.setUseClientMode(true);
        if (hostname != null) {
            SSLParameters p = engine.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(p);
        }
        TlsTransport t = new TlsTransport(channel, engine, new ReentrantLock(), ByteBuffer.allocate(0));
        try {
            t.handshake();
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw new BlockException(BlockException.Kind.IO, handshakeError(e, hostname), e);
        }
    }

    /** GnuTLS's text for what went wrong, as QEMU shows it, with the JDK's reason otherwise. */
    static String handshakeError(Throwable e, String hostname) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof CertPathBuilderException || c instanceof CertPathValidatorException) {
                return "The certificate hasn't got a known issuer";
            }
            if (c instanceof CertificateException && c.getMessage() != null
                    && (c.getMessage().startsWith("No subject alternative") || c.getMessage().startsWith("No name matching"))) {
                return "Certificate does not match the hostname " + hostname;
            }
        }
        String why = e.getMessage() == null ? e.toString() : e.getMessage();
        return e instanceof SSLException || e instanceof java.io.EOFException ? "TLS handshake failed: " + why
                : "Cannot read from TLS channel: " + why;
    }
}
