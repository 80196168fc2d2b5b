package dev.strata.blockdrv.nbd.tls;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.nbd.NbdAuthorizer;
import dev.strata.blockdrv.nbd.NbdTlsConfig;
import dev.strata.blockdrv.nbd.NbdTlsContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A {@code tls-creds-x509} object: QEMU's x509 credential directory turned into a JDK
 * {@link SSLContext}. The directory holds {@code ca-cert.pem} (always), {@code server-cert.pem} and
 * {@code server-key.pem} (server endpoint) or optionally {@code client-cert.pem} and
 * {@code client-key.pem} (client endpoint). Files are read once, when the object is created, as
 * QEMU does; a missing one fails with QEMU's message.
 *
 * <p>Immutable; any thread.
 */
public final class X509Credentials {

    static final String CA_CERT = "ca-cert.pem";

    private final String id;
    private final TlsEndpoint endpoint;
    private final Path dir;
    private final boolean verifyPeer;
    private final SSLContext context;

    private X509Credentials(String id, TlsEndpoint endpoint, Path dir, boolean verifyPeer, SSLContext context) {
        this.id = id;
        this.endpoint = endpoint;
        this.dir = dir;
        this.verifyPeer = verifyPeer;
        this.context = context;
    }

    /**
     * Loads the credentials in {@code dir}.
     *
     * @param verifyPeer  server: require a client certificate signed by the CA; client: check the
     *                    server's certificate (QEMU's default is on)
     * @param sanityCheck QEMU's {@code sanity-check} property (on by default): also run
     *                    {@link CertificateChecks} (validity dates, CA and usage extensions for
     *                    the endpoint, the certificate against the CA, the key against the
     *                    certificate)
     *
     * @throws BlockException INVALID_ARGUMENT with QEMU's text for a missing or unreadable file or a failed check
     */
    public static X509Credentials load(String id, TlsEndpoint endpoint, Path dir, boolean verifyPeer, boolean sanityCheck) {
        Path caFile = dir.resolve(CA_CERT);
        List<X509Certificate> ca = PemFiles.certificates(existing(caFile));
        String prefix = endpoint == TlsEndpoint.SERVER ? "server" : "client";
        Path certFile = dir.resolve(prefix + "-cert.pem");
        Path keyFile = dir.resolve(prefix + "-key.pem");
        List<X509Certificate> chain = null;
        PrivateKey key = null;
        if (endpoint == TlsEndpoint.SERVER || Files.exists(certFile) || Files.exists(keyFile)) {
            chain = PemFiles.certificates(existing(certFile));
            key = PemFiles.privateKey(existing(keyFile));
        }
        if (sanityCheck) {
            CertificateChecks.run(endpoint, caFile, ca, certFile, chain == null ? null : chain.get(0), keyFile, key, new java.util.Date());
        }
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < ca.size(); i++) {
                trust.setCertificateEntry("ca" + i, ca.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (chain != null) {
                char[] pw = new char[0];
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry(prefix, key, pw, chain.toArray(new X509Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, pw);
            }
            SSLContext ctx;
            if (endpoint == TlsEndpoint.SERVER) {
                ctx = NbdTlsContexts.server(kmf.getKeyManagers(), trustManager(tmf));
            } else {
                ctx = SSLContext.getInstance("TLS");
                ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            }
            return new X509Credentials(id, endpoint, dir, verifyPeer, ctx);
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new BlockException(BlockException.Kind.INVALID_ARGUMENT,
                    "Unable to load TLS credentials from " + dir + ": " + e.getMessage(), e);
        }
    }

    private static javax.net.ssl.X509TrustManager trustManager(TrustManagerFactory tmf) {
        for (javax.net.ssl.TrustManager t : tmf.getTrustManagers()) {
            if (t instanceof javax.net.ssl.X509TrustManager x) {
                return x;
            }
        }
        throw new IllegalStateException("the JDK offers no X509TrustManager");
    }

    private static Path existing(Path file) {
        if (!Files.isReadable(file)) {
            throw PemFiles.unreadable(file, Files.exists(file) ? new java.nio.file.AccessDeniedException(file.toString())
                    : new java.nio.file.NoSuchFileException(file.toString()));
        }
        return file;
    }

    /**
     * The client credentials {@code object} (found under {@code id}) must be, with QEMU's errors
     * for none, another type, and server credentials. Strata's client always checks the server's
     * certificate: {@code verify-peer=off} credentials are refused rather than trusted blindly.
     */
    public static X509Credentials forClient(Object object, String id) {
        if (object == null) {
            throw BlockException.invalid("No TLS credentials with id '" + id + "'");
        }
        if (!(object instanceof X509Credentials c)) {
            throw BlockException.invalid("Object with id '" + id + "' is not TLS credentials");
        }
        if (c.endpoint() != TlsEndpoint.CLIENT) {
            throw BlockException.invalid("Expected TLS credentials for a client endpoint");
        }
        if (!c.verifyPeer()) {
            throw BlockException.unsupported("tls-creds '" + id + "' has verify-peer=off: Strata's NBD client always verifies the server");
        }
        return c;
    }

    public String id() {
        return id;
    }

    public TlsEndpoint endpoint() {
        return endpoint;
    }

    public Path dir() {
        return dir;
    }

    public boolean verifyPeer() {
        return verifyPeer;
    }

    public SSLContext context() {
        return context;
    }

    /**
     * The NBD server's TLS settings: TLS required (QEMU refuses plain clients once
     * {@code tls-creds} is set), a client certificate required with {@code verify-peer=on} or an
     * authorizer, and the authorizer (null for none).
     */
    public NbdTlsConfig serverConfig(NbdAuthorizer authorizer) {
        return new NbdTlsConfig(context, true, verifyPeer || authorizer != null, authorizer);
    }
}
