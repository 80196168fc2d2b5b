package dev.strata.blockdrv.nbd.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's sanity checks of x509 credentials when a {@code tls-creds-x509} object is created, each
 * with QEMU 7.2's message: missing files, certificates out of their validity period, a key that
 * is not the certificate's, a certificate not issued by the CA, a CA that is not a CA, a leaf
 * that is one, and extended key usages that forbid the endpoint's role; {@code sanity-check=off}
 * skips them, as in QEMU.
 */
class CertificateChecksTest {

    private static final long DAY = 86_400_000L;
    private static KeyPair caKeys;
    private static KeyPair otherKeys;
    private static X509Certificate ca;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeCa() throws Exception {
        caKeys = keys();
        otherKeys = keys();
        ca = cert(new X500Name("CN=Strata test CA"), caKeys, caName(), caKeys, true, null, -DAY, DAY);
    }

    private static X500Name caName() {
        return new X500Name("CN=Strata test CA");
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    /** A certificate of {@code subject} for {@code subjectKeys}, valid from now+{@code from} to now+{@code to}. */
    private static X509Certificate cert(X500Name subject, KeyPair subjectKeys, X500Name issuer, KeyPair issuerKeys, boolean isCa,
                                        KeyPurposeId criticalPurpose, long from, long to) throws Exception {
        long now = System.currentTimeMillis();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(now), new Date(now + from),
                new Date(now + to), subject, subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(isCa ? KeyUsage.keyCertSign | KeyUsage.cRLSign
                : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        if (criticalPurpose != null) {
            b.addExtension(Extension.extendedKeyUsage, true, new ExtendedKeyUsage(criticalPurpose));
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
    }

    private static void pem(Path file, Object o) throws IOException {
        try (Writer w = Files.newBufferedWriter(file); JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(o);
        }
    }

    /** A QEMU credential directory for {@code role} (server or client) holding {@code leaf} and {@code key}. */
    private Path credentials(String name, String role, X509Certificate caCert, X509Certificate leaf, KeyPair key) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        pem(d.resolve("ca-cert.pem"), caCert);
        pem(d.resolve(role + "-cert.pem"), leaf);
        pem(d.resolve(role + "-key.pem"), key.getPrivate());
        return d;
    }

    private static String load(Path d, String endpoint, String extra) {
        return assertThrows(BlockException.class, () -> new UserObjects()
                .addFromOptionString("tls-creds-x509,id=t,endpoint=" + endpoint + ",dir=" + d + extra)).getMessage();
    }

    @Test
    void goodCredentialsLoadAndEveryBrokenOneGetsQemusMessage() throws Exception {
        KeyPair k = keys();
        X500Name server = new X500Name("O=Strata,CN=localhost");
        Path good = credentials("good", "server", ca, cert(server, k, caName(), caKeys, false, KeyPurposeId.id_kp_serverAuth, -DAY, DAY), k);
        new UserObjects().addFromOptionString("tls-creds-x509,id=t,endpoint=server,dir=" + good);

        Path expired = credentials("expired", "server", ca, cert(server, k, caName(), caKeys, false, null, -2 * DAY, -DAY), k);
        assertEquals("The server certificate " + expired + "/server-cert.pem has expired", load(expired, "server", ""));
        new UserObjects().addFromOptionString("tls-creds-x509,id=t,endpoint=server,sanity-check=off,dir=" + expired);

        Path early = credentials("early", "server", ca, cert(server, k, caName(), caKeys, false, null, DAY, 2 * DAY), k);
        assertEquals("The server certificate " + early + "/server-cert.pem is not yet active", load(early, "server", ""));

        Path oldCa = credentials("oldca", "server", cert(caName(), caKeys, caName(), caKeys, true, null, -2 * DAY, -DAY),
                cert(server, k, caName(), caKeys, false, null, -DAY, DAY), k);
        assertEquals("The CA certificate " + oldCa + "/ca-cert.pem has expired", load(oldCa, "server", ""));

        Path wrongKey = credentials("wrongkey", "server", ca, cert(server, k, caName(), caKeys, false, null, -DAY, DAY), otherKeys);
        assertEquals("Cannot load certificate '" + wrongKey + "/server-cert.pem' & key '" + wrongKey
                + "/server-key.pem': The certificate and the given key do not match.", load(wrongKey, "server", ""));

        X500Name otherCa = new X500Name("CN=Someone else's CA");
        Path stranger = credentials("stranger", "server", ca, cert(server, k, otherCa, otherKeys, false, null, -DAY, DAY), k);
        assertEquals("Our own certificate " + stranger + "/server-cert.pem failed validation against " + stranger
                + "/ca-cert.pem: The certificate hasn't got a known issuer", load(stranger, "server", ""));

        Path leafCa = credentials("leafca", "server", ca, cert(server, k, caName(), caKeys, true, null, -DAY, DAY), k);
        assertEquals("The certificate " + leafCa + "/server-cert.pem basic constraints show a CA, but we need one for a server",
                load(leafCa, "server", ""));

        Path notCa = credentials("notca", "server", cert(caName(), caKeys, caName(), caKeys, false, null, -DAY, DAY),
                cert(server, k, caName(), caKeys, false, null, -DAY, DAY), k);
        assertEquals("The certificate " + notCa + "/ca-cert.pem basic constraints do not show a CA", load(notCa, "server", ""));

        Path clientOnly = credentials("clientonly", "server", ca, cert(server, k, caName(), caKeys, false, KeyPurposeId.id_kp_clientAuth,
                -DAY, DAY), k);
        assertEquals("Certificate " + clientOnly + "/server-cert.pem purpose does not allow use with a TLS server",
                load(clientOnly, "server", ""));
        Path serverOnly = credentials("serveronly", "client", ca, cert(new X500Name("CN=alice"), k, caName(), caKeys, false,
                KeyPurposeId.id_kp_serverAuth, -DAY, DAY), k);
        assertEquals("Certificate " + serverOnly + "/client-cert.pem purpose does not allow use with a TLS client",
                load(serverOnly, "client", ""));

        Files.delete(good.resolve("server-key.pem"));
        assertEquals("Unable to access credentials " + good + "/server-key.pem: No such file or directory", load(good, "server", ""));
    }
}
