package dev.strata.blockdrv.nbd.tls;

import java.security.KeyManagementException;
import java.security.SecureRandom;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * An {@link SSLContext} whose engines speak TLS 1.2 at most. Used for servers that ask for client
 * certificates issued by an RSA CA: in TLS 1.3 the JDK's CertificateRequest lists only the
 * signature schemes allowed for handshake signatures (no {@code rsa_pkcs1_*}), and GnuTLS clients
 * (libnbd, QEMU) then find none of their RSA-signed certificates acceptable and send an empty
 * chain. Seen here with nbdinfo 1.14: TLS 1.3 failed with "Empty client certificate chain", TLS 1.2
 * and an ECDSA CA both worked. Immutable; any thread.
 */
final class Tls12Only extends SSLContextSpi {

    private static final String[] PROTOCOLS = {"TLSv1.2"};
    private final SSLContext delegate;

    private Tls12Only(SSLContext delegate) {
        this.delegate = delegate;
    }

    static SSLContext wrap(SSLContext delegate) {
        return new SSLContext(new Tls12Only(delegate), delegate.getProvider(), "TLSv1.2") {
        };
    }

    private static SSLEngine limit(SSLEngine e) {
        e.setEnabledProtocols(PROTOCOLS);
        return e;
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
        delegate.init(km, tm, sr);
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
        return delegate.getSocketFactory();
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
        return delegate.getServerSocketFactory();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
        return limit(delegate.createSSLEngine());
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
        return limit(delegate.createSSLEngine(host, port));
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
        return delegate.getServerSessionContext();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
        return delegate.getClientSessionContext();
    }

    @Override
    protected SSLParameters engineGetDefaultSSLParameters() {
        SSLParameters p = delegate.getDefaultSSLParameters();
        p.setProtocols(PROTOCOLS);
        return p;
    }

    @Override
    protected SSLParameters engineGetSupportedSSLParameters() {
        return delegate.getSupportedSSLParameters();
    }
}
