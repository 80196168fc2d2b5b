package dev.strata.harness.net;

import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
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
 * A throw-away CA with a server certificate (for {@code localhost}, 127.0.0.1 and the given
 * addresses) and a client certificate, in QEMU's x509 directory layout: {@code server/}
 * (ca-cert.pem, server-cert.pem, server-key.pem) and {@code client/} (ca-cert.pem,
 * client-cert.pem, client-key.pem), as QEMU's {@code tls-creds-x509} and qemu-nbd read them.
 */
final class LinkPki {

    final Path serverDir;
    final Path clientDir;

    private LinkPki(Path serverDir, Path clientDir) {
        this.serverDir = serverDir;
        this.clientDir = clientDir;
    }

    static LinkPki create(Path dir, String... serverAddresses) throws Exception {
        KeyPair ca = keys();
        X500Name caName = new X500Name("CN=Strata link CA " + dir.getFileName());
        X509Certificate caCert = sign(caName, ca, caName, ca.getPublic(), null, List.of());
        KeyPair server = keys();
        List<GeneralName> names = new ArrayList<>(List.of(new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
        for (String a : serverAddresses) {
            names.add(new GeneralName(GeneralName.iPAddress, a));
        }
        X509Certificate serverCert = sign(caName, ca, new X500Name("O=Strata,CN=localhost"), server.getPublic(),
                KeyPurposeId.id_kp_serverAuth, names);
        KeyPair client = keys();
        X509Certificate clientCert = sign(caName, ca, new X500Name("O=Strata,CN=source"), client.getPublic(),
                KeyPurposeId.id_kp_clientAuth, List.of());
        Path s = Files.createDirectories(dir.resolve("server"));
        Path c = Files.createDirectories(dir.resolve("client"));
        pem(s.resolve("ca-cert.pem"), caCert);
        pem(c.resolve("ca-cert.pem"), caCert);
        pem(s.resolve("server-cert.pem"), serverCert);
        pem(s.resolve("server-key.pem"), server.getPrivate());
        pem(c.resolve("client-cert.pem"), clientCert);
        pem(c.resolve("client-key.pem"), client.getPrivate());
        return new LinkPki(s, c);
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    /** {@code purpose} null makes a CA certificate. */
    private static X509Certificate sign(X500Name issuer, KeyPair issuerKeys, X500Name subject, PublicKey key,
                                        KeyPurposeId purpose, List<GeneralName> altNames) throws Exception {
        long now = System.currentTimeMillis();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(System.nanoTime()),
                new Date(now - 3_600_000), new Date(now + 86_400_000), subject, key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(purpose == null));
        if (purpose == null) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
        }
        if (!altNames.isEmpty()) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(altNames.toArray(GeneralName[]::new)));
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
