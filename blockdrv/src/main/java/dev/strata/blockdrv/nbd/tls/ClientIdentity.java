package dev.strata.blockdrv.nbd.tls;

import java.util.ArrayList;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * The client identity {@code authz-simple} and {@code authz-list} match: the client certificate's
 * subject written as QEMU 7.2 (GnuTLS) writes it, attributes in certificate order — a subject made
 * from {@code /O=Strata/CN=alice} is {@code O=Strata,CN=alice} (checked against QEMU 7.2's own
 * "TLS x509 authz check for O=Strata,CN=alice" line). The JDK writes RFC 2253, the other way round.
 * Stateless; any thread.
 */
public final class ClientIdentity {

    private ClientIdentity() {
    }

    /** QEMU's form of an RFC 2253 subject, or the input unchanged when it does not parse. */
    public static String fromRfc2253(String rfc2253) {
        try {
            List<Rdn> rdns = new LdapName(rfc2253).getRdns(); // index 0 is the last RDN written, the first in the certificate
            List<String> parts = new ArrayList<>();
            for (Rdn r : rdns) {
                parts.add(r.toString());
            }
            return String.join(",", parts);
        } catch (InvalidNameException e) {
            return rfc2253;
        }
    }
}
