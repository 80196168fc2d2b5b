package dev.strata.blockdrv.nbd;

import javax.net.ssl.SSLContext;

/**
 * TLS for an {@link NbdServer}: the server's context (key and trust material already loaded), whether
 * plain clients are refused ({@code NBD_REP_ERR_TLS_REQD}; QEMU always requires TLS once
 * {@code tls-creds} is given), whether the client must present a certificate the context trusts
 * ({@code verify-peer=on}), and an optional check of its subject ({@code tls-authz}, null for none).
 * An authorizer implies that a client certificate is required.
 */
public record NbdTlsConfig(SSLContext context, boolean required, boolean requireClientCertificate, NbdAuthorizer authorizer) {

    public NbdTlsConfig {
        if (context == null) {
            throw new IllegalArgumentException("an SSLContext is required");
        }
    }

    /** TLS required, no client certificate asked for: QEMU's {@code tls-creds-x509,verify-peer=off}. */
    public static NbdTlsConfig required(SSLContext context) {
        return new NbdTlsConfig(context, true, false, null);
    }
}
