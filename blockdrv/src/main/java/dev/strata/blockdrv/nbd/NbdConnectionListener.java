package dev.strata.blockdrv.nbd;

/**
 * Told about the clients of an {@link NbdServer} as they come and go, so a caller waits for an
 * event instead of sampling counts ({@code strata nbd} ends after its last client this way).
 * Called on the client's connection thread, after the server's own bookkeeping is done (a count
 * read from the server inside a callback already includes the change); must not block.
 */
public interface NbdConnectionListener {

    /** A client finished negotiation and now uses {@code export} (the transmission phase starts). */
    default void clientAttached(NbdExport export) {
    }

    /** A client of {@code export} left the transmission phase. */
    default void clientDetached(NbdExport export) {
    }

    /**
     * A connection closed, at whatever phase (a {@code -L} listing or a refused client too);
     * {@code stillOpen} connections remain.
     */
    default void connectionClosed(int stillOpen) {
    }
}
