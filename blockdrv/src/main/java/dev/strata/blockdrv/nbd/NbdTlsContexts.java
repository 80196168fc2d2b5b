package dev.strata.blockdrv.nbd;

import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Builds server {@link SSLContext}s that GnuTLS clients (libnbd, QEMU) work with. Stateless.
 *
 * <p>Why: with a trust manager that names its CAs, the JDK's TLS 1.3 CertificateRequest carries a
 * {@code certificate_authorities} list, and libnbd 1.14's GnuTLS then sends no client certificate
 * at all (checked with nbdinfo against a CA-signed client certificate), so verify-peer servers
 * refused every libnbd client. QEMU's GnuTLS server names no CAs; neither do contexts made here.
 * The certificate the client does send is still checked against {@code trust} in full.
 */
public final class NbdTlsContexts {

    private NbdTlsContexts() {
    }

    /**
     * @param keys  the server's key and certificate chain
     * @param trust the CAs client certificates must chain to (null: no client certificates accepted)
     */
    public static SSLContext server(KeyManager[] keys, X509TrustManager trust) throws GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keys, trust == null ? null : new TrustManager[] {new Unnamed(trust)}, null);
        return ctx;
    }

    /** Delegates every check and names no accepted issuers. */
    private record Unnamed(X509TrustManager real) implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            real.checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            real.checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
