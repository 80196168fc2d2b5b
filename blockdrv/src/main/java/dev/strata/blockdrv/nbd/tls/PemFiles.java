package dev.strata.blockdrv.nbd.tls;

import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Reads the PEM files of QEMU's x509 credential directories with BouncyCastle: certificate
 * bundles and unencrypted private keys in any of the forms {@code certtool} and {@code openssl}
 * write (PKCS#8 {@code PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY}, SEC1 {@code EC PRIVATE KEY}).
 * Stateless; any thread.
 */
public final class PemFiles {

    private PemFiles() {
    }

    /** Every certificate in {@code file}, in file order (a leaf followed by its chain, or a CA bundle). */
    public static List<X509Certificate> certificates(Path file) {
        List<X509Certificate> out = new ArrayList<>();
        JcaX509CertificateConverter conv = new JcaX509CertificateConverter();
        try (Reader r = Files.newBufferedReader(file); PEMParser p = new PEMParser(r)) {
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof X509CertificateHolder h) {
                    out.add(conv.getCertificate(h));
                }
            }
        } catch (IOException | CertificateException e) {
            throw unreadable(file, e);
        }
        if (out.isEmpty()) {
            throw new BlockException(BlockException.Kind.INVALID_ARGUMENT, "Unable to import certificate " + file + ": no certificate found");
        }
        return out;
    }

    /** The private key in {@code file}. */
    public static PrivateKey privateKey(Path file) {
        JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
        try (Reader r = Files.newBufferedReader(file); PEMParser p = new PEMParser(r)) {
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof PEMKeyPair kp) {
                    return conv.getPrivateKey(kp.getPrivateKeyInfo()); // the public half may be absent (SEC1 keys)
                }
                if (o instanceof PrivateKeyInfo info) {
                    return conv.getPrivateKey(info);
                }
            }
        } catch (IOException e) {
            throw unreadable(file, e);
        }
        throw new BlockException(BlockException.Kind.INVALID_ARGUMENT,
                "Unable to import private key " + file + ": no unencrypted private key found");
    }

    /** QEMU's wording for a credential file that cannot be read. */
    static BlockException unreadable(Path file, Exception e) {
        String why = e instanceof NoSuchFileException ? "No such file or directory"
                : e instanceof java.nio.file.AccessDeniedException ? "Permission denied" : String.valueOf(e.getMessage());
        return new BlockException(BlockException.Kind.INVALID_ARGUMENT, "Unable to access credentials " + file + ": " + why, e);
    }
}
