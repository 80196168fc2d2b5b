package dev.strata.device.ring;

/**
 * What the guest driver holds after setting up a queue: the available ring plus the doorbell.
 * Publishing a head hands the chain to the device, which owns its descriptors and buffers until
 * the head comes back through {@link GuestInterrupt#used}.
 *
 * <p>Thread safety: any number of guest threads may publish concurrently. Publishing never
 * allocates; it waits only if the guest has more chains outstanding than the queue size, which a
 * correct driver never does.
 */
public interface AvailRing {

    /** Queue size: descriptor table entries, and the most chains outstanding at once. */
    int size();

    /** Makes the chain at descriptor {@code head} available to the device and notifies it. */
    void publish(int head);
}
