package dev.strata.harness.guest;

/**
 * A disk as the synthetic guest's block layer sees it: a guest driver (virtio-blk or ATA) behind
 * blocking calls. Data moves through {@link GuestBuffer}s in guest memory. Results are values:
 * a device error is {@link IoResult#IOERR}, never an exception.
 *
 * <p>Thread safety: any number of guest threads may call concurrently; at most
 * {@link #maxInFlight()} requests are on the device at once, further callers wait for a slot.
 * Every call first waits while the machine is stopped (a stopped vCPU issues nothing).
 */
public interface GuestDisk extends AutoCloseable {

    /** The drive this disk is attached to, e.g. {@code virtio0}. */
    String driveId();

    /** Capacity in bytes as the device reported it at probe time (a driver may probe on first need, once the guest runs). */
    long capacity();

    /** Requests the driver can have on the device at once. */
    int maxInFlight();

    /** Reads {@code buf.length()} bytes at byte {@code offset} (both multiples of 512). */
    IoResult read(long offset, GuestBuffer buf);

    /** Writes {@code buf.length()} bytes at byte {@code offset} (both multiples of 512). */
    IoResult write(long offset, GuestBuffer buf);

    /** Flushes the device's write cache: every write completed before this call is durable after it. */
    IoResult flush();

    /** Stops using the device; callers waiting for a completion get {@link IoResult#ABORTED}. */
    @Override
    void close();

    /**
     * Requests now waiting for a stopped machine to run give up ({@link IoResult#ABORTED}) instead
     * of being submitted once it runs again; requests started after this call run as usual. The
     * launcher's quit on a paused machine calls it before resuming for the final verification, so
     * the writes a paused guest had queued never reach the disk (QEMU's quit runs nothing more).
     */
    default void abandonWaiting() {
    }
}
