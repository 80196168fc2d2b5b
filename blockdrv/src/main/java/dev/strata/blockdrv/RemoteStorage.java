package dev.strata.blockdrv;

/**
 * Optional driver ability: the driver's requests cross a network to a server (the {@code nbd}
 * client). Each request then costs a round trip rather than CPU, so a job copying onto such a node
 * keeps more requests in flight, sends no early write-back flushes, and zeroes a whole existing
 * target in a few large requests where the server can do that without data (QEMU's mirror does
 * the same when the target can write zeroes with unmap).
 *
 * <p>Implementations answer from what was negotiated at open; any thread.
 */
public interface RemoteStorage {

    /** Whether {@code writeZeroes(..., mayUnmap=true)} is sent as one request without data (NBD_CMD_WRITE_ZEROES). */
    boolean writesZeroesWithoutData();

    /** The remote driver under {@code node}, following its {@code file} children, or null for local storage. */
    static RemoteStorage of(BlockNode node) {
        for (BlockNode n = node; n != null; n = n.file()) {
            if (n.driver() instanceof RemoteStorage r) {
                return r;
            }
        }
        return null;
    }
}
