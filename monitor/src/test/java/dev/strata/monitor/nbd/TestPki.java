package dev.strata.monitor.nbd;

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
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away CA with a server and a client certificate, written in QEMU's x509 directory layout:
 * {@code server/} (ca-cert.pem, server-cert.pem, server-key.pem) and {@code client/} (ca-cert.pem,
 * client-cert.pem, client-key.pem) — the layout both QEMU's {@code tls-creds-x509} and libnbd's
 * {@code tls-certificates=DIR} read.
 */
final class TestPki {

    final Path serverDir;
    final Path clientDir;

    private TestPki(Path serverDir, Path clientDir) {
        this.serverDir = serverDir;
        this.clientDir = clientDir;
    }

    /** Makes the CA and certificates; the client's subject is {@code clientSubject}, e.g. {@code O=Strata,CN=alice}. */
    static TestPki create(Path dir, String clientSubject) throws Exception {
        KeyPair ca = keys();
        X500Name caName = new X500Name("CN=Strata test CA");
        X509Certificate caCert = sign(caName, ca, caName, ca.getPublic(), true, null);
        KeyPair server = keys();
        X509Certificate serverCert = sign(caName, ca, new X500Name("O=Strata,CN=localhost"), server.getPublic(), false,
                KeyPurposeId.id_kp_serverAuth);
        KeyPair client = keys();
        X509Certificate clientCert = sign(caName, ca, new X500Name(clientSubject), client.getPublic(), false,
                KeyPurposeId.id_kp_clientAuth);
        Path s = Files.createDirectories(dir.resolve("server"));
        Path c = Files.createDirectories(dir.resolve("client"));
        for (Path d : new Path[] {s, c}) {
            pem(d.resolve("ca-cert.pem"), caCert);
        }
        pem(s.resolve("server-cert.pem"), serverCert);
        pem(s.resolve("server-key.pem"), server.getPrivate());
        pem(c.resolve("client-cert.pem"), clientCert);
        pem(c.resolve("client-key.pem"), client.getPrivate());
        return new TestPki(s, c);
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X500Name issuer, KeyPair issuerKeys, X500Name subject, java.security.PublicKey key,
                                        boolean isCa, KeyPurposeId purpose) throws Exception {
        long now = System.currentTimeMillis();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(now), new Date(now - 3_600_000),
                new Date(now + 86_400_000), subject, key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (isCa) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
            if (purpose == KeyPurposeId.id_kp_serverAuth) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            }
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
    }

    private static void pem(Path file, Object o) throws IOException {
        try (Writer w = Files.newBufferedWriter(file); JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(o);
        }
    }
}
