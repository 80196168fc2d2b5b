package dev.strata.blockdrv.nbd.tls;

import dev.strata.blockdrv.BlockException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * The sanity checks QEMU runs on x509 credentials when the object is created (its
 * {@code sanity-check} property, on by default), with QEMU 7.2's messages: each certificate is
 * within its validity period; the CA certificates are CAs allowed to sign certificates and our own
 * certificate is not a CA; our certificate's key usage and extended key usage allow the endpoint's
 * role (a usage that forbids it counts only when the extension is critical, as in QEMU); our
 * certificate verifies against one of the CAs; and the private key belongs to the certificate
 * (GnuTLS refuses that pair when QEMU loads it; the text is QEMU's load error with GnuTLS' reason).
 * Stateless; any thread.
 */
final class CertificateChecks {

    private static final String KEY_USAGE = "2.5.29.15";
    private static final String EXTENDED_KEY_USAGE = "2.5.29.37";
    private static final String BASIC_CONSTRAINTS = "2.5.29.19";
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String ANY_PURPOSE = "2.5.29.37.0";
    // bit positions in X509Certificate.getKeyUsage()
    private static final int DIGITAL_SIGNATURE = 0;
    private static final int KEY_ENCIPHERMENT = 2;
    private static final int KEY_CERT_SIGN = 5;

    private CertificateChecks() {
    }

    /**
     * Runs every check; {@code cert}/{@code key} are null for a client without a certificate.
     *
     * @throws BlockException INVALID_ARGUMENT with QEMU's message for the first check that fails
     */
    static void run(TlsEndpoint endpoint, Path caFile, List<X509Certificate> cas, Path certFile, X509Certificate cert,
                    Path keyFile, PrivateKey key, Date now) {
        boolean server = endpoint == TlsEndpoint.SERVER;
        if (cert != null) {
            checkOne(cert, certFile, server, false, now);
        }
        for (X509Certificate ca : cas) {
            checkOne(ca, caFile, server, true, now);
        }
        if (cert != null) {
            checkPair(cert, certFile, cas, caFile);
            checkKey(cert, certFile, key, keyFile);
        }
    }

    private static void checkOne(X509Certificate c, Path file, boolean server, boolean ca, Date now) {
        String role = ca ? "CA" : server ? "server" : "client";
        if (now.after(c.getNotAfter())) {
            throw fail("The " + role + " certificate " + file + " has expired");
        }
        if (now.before(c.getNotBefore())) {
            throw fail("The " + role + " certificate " + file + " is not yet active");
        }
        checkBasicConstraints(c, file, server, ca);
        checkKeyUsage(c, file, ca);
        if (!ca) {
            checkPurpose(c, file, server);
        }
    }

    private static void checkBasicConstraints(X509Certificate c, Path file, boolean server, boolean ca) {
        boolean present = c.getExtensionValue(BASIC_CONSTRAINTS) != null;
        boolean isCa = c.getBasicConstraints() >= 0;
        if (isCa && !ca) {
            throw fail("The certificate " + file + " basic constraints show a CA, but we need one for a " + (server ? "server" : "client"));
        }
        if (ca && !present) {
            throw fail("The certificate " + file + " is missing basic constraints for a CA");
        }
        if (ca && !isCa) {
            throw fail("The certificate " + file + " basic constraints do not show a CA");
        }
    }

    /** No key usage extension means any usage; a usage missing from a non-critical extension is only a warning in QEMU. */
    private static void checkKeyUsage(X509Certificate c, Path file, boolean ca) {
        boolean[] usage = c.getKeyUsage();
        if (usage == null || !critical(c, KEY_USAGE)) {
            return;
        }
        if (ca) {
            if (!bit(usage, KEY_CERT_SIGN)) {
                throw fail("Certificate " + file + " usage does not permit certificate signing");
            }
            return;
        }
        if (!bit(usage, DIGITAL_SIGNATURE)) {
            throw fail("Certificate " + file + " usage does not permit digital signature");
        }
        if (!bit(usage, KEY_ENCIPHERMENT)) {
            throw fail("Certificate " + file + " usage does not permit key encipherment");
        }
    }

    /** Extended key usage: absent means any purpose; present, it must name our role (or any purpose) when critical. */
    private static void checkPurpose(X509Certificate c, Path file, boolean server) {
        List<String> purposes;
        try {
            purposes = c.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw fail("Unable to query certificate " + file + " key purpose: " + e.getMessage());
        }
        if (purposes == null || !critical(c, EXTENDED_KEY_USAGE)) {
            return;
        }
        boolean any = purposes.contains(ANY_PURPOSE);
        if (server && !any && !purposes.contains(SERVER_AUTH)) {
            throw fail("Certificate " + file + " purpose does not allow use with a TLS server");
        }
        if (!server && !any && !purposes.contains(CLIENT_AUTH)) {
            throw fail("Certificate " + file + " purpose does not allow use with a TLS client");
        }
    }

    /** Our certificate must be signed by one of the CAs (GnuTLS' reasons, as QEMU prints them). */
    private static void checkPair(X509Certificate cert, Path certFile, List<X509Certificate> cas, Path caFile) {
        boolean knownIssuer = false;
        for (X509Certificate ca : cas) {
            if (!ca.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
                continue;
            }
            knownIssuer = true;
            try {
                cert.verify(ca.getPublicKey());
                return;
            } catch (GeneralSecurityException e) {
                // try the next CA of that name
            }
        }
        throw fail("Our own certificate " + certFile + " failed validation against " + caFile + ": "
                + (knownIssuer ? "The certificate is not trusted" : "The certificate hasn't got a known issuer"));
    }

    /** Signs a test message with the key and checks it with the certificate's public key. */
    private static void checkKey(X509Certificate cert, Path certFile, PrivateKey key, Path keyFile) {
        PublicKey pub = cert.getPublicKey();
        String alg = switch (family(key.getAlgorithm())) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "EdDSA" -> key.getAlgorithm().equals("Ed448") ? "Ed448" : "Ed25519";
            default -> null; // a key type the JDK cannot sign with here: the handshake will tell
        };
        if (alg == null) {
            return;
        }
        boolean match = family(pub.getAlgorithm()).equals(family(key.getAlgorithm()));
        if (match) {
            try {
                byte[] probe = "strata x509 key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                Signature s = Signature.getInstance(alg);
                s.initSign(key);
                s.update(probe);
                byte[] sig = s.sign();
                s.initVerify(pub);
                s.update(probe);
                match = s.verify(sig);
            } catch (GeneralSecurityException e) {
                match = false;
            }
        }
        if (!match) {
            throw fail("Cannot load certificate '" + certFile + "' & key '" + keyFile + "': The certificate and the given key do not match.");
        }
    }

    private static String family(String algorithm) {
        return switch (algorithm) {
            case "Ed25519", "Ed448", "EdDSA" -> "EdDSA";
            default -> algorithm;
        };
    }

    private static boolean critical(X509Certificate c, String oid) {
        Set<String> crit = c.getCriticalExtensionOIDs();
        return crit != null && crit.contains(oid);
    }

    private static boolean bit(boolean[] usage, int i) {
        return usage.length > i && usage[i];
    }

    private static BlockException fail(String message) {
        return new BlockException(BlockException.Kind.INVALID_ARGUMENT, message);
    }
}
