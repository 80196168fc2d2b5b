package dev.strata.harness.guest;

/** How a guest request ended, as the guest driver sees it. */
public enum IoResult {
    /** The device completed it successfully. */
    OK,
    /** The device reported an error (virtio IOERR, ATA ERR), or refused the request without a status. */
    IOERR,
    /** The device does not support the request (virtio UNSUPP, ATA ABRT on an unknown command). */
    UNSUPP,
    /** Never ran: the machine shut down or the driver was closed. */
    ABORTED;

    public boolean ok() {
        return this == OK;
    }
}
