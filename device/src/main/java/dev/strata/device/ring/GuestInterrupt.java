package dev.strata.device.ring;

/**
 * The guest's side of completion: the used ring plus the interrupt line. For each batch of
 * completions the ring calls {@link #used} once per finished request and then {@link #interrupt}
 * exactly once (interrupt coalescing: one "interrupt" per batch, driven by the Disruptor's
 * {@code endOfBatch}).
 *
 * <p>Called on the device's interrupt thread only, never concurrently; implementations must not
 * block for long (they delay every later completion).
 */
public interface GuestInterrupt {

    /** Request {@code id} (its head descriptor index) finished; {@code len} bytes were written to the guest. */
    void used(int id, int len);

    /** End of a batch of {@link #used} calls: wake whoever waits. */
    void interrupt();
}
