package dev.strata.blockdrv.nbd.tls;

/** Which side of a TLS connection credentials are for (QEMU's {@code endpoint} property). */
public enum TlsEndpoint {
    SERVER, CLIENT;

    /** The QAPI value, {@code server} or {@code client}. */
    public String qapiName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
