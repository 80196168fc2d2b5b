package dev.strata.blockdrv.nbd;

/**
 * How an {@link NbdServer} runs.
 *
 * @param maxConnections clients served at once, 0 for no limit (QEMU's {@code max-connections});
 *                       further clients wait in the listen backlog until one leaves
 * @param tls            TLS settings, or null to serve plain NBD only
 */
public record NbdServerOptions(int maxConnections, NbdTlsConfig tls) {

    public NbdServerOptions {
        if (maxConnections < 0) {
            throw new IllegalArgumentException("max-connections must not be negative");
        }
    }

    /** No connection limit, no TLS. */
    public static NbdServerOptions plain() {
        return new NbdServerOptions(0, null);
    }
}
