package dev.strata.blockdrv.nbd;

/**
 * Decides whether a TLS client may use the server, by the distinguished name of the certificate
 * it presented (QEMU's {@code tls-authz}). Called on the connection's thread right after the TLS
 * handshake; must be thread safe.
 */
@FunctionalInterface
public interface NbdAuthorizer {

    /**
     * @param subjectDn the client certificate's subject in RFC 2253 form (as
     *                  {@code X500Principal.getName()} gives it), or null when the client sent none
     * @return true to let the client negotiate exports
     */
    boolean isAllowed(String subjectDn);
}
