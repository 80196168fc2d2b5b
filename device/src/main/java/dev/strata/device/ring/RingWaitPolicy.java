package dev.strata.device.ring;

/**
 * How the device's ring threads wait for work (a Disruptor wait strategy, chosen by name so
 * callers outside the device module never see Disruptor types).
 */
public enum RingWaitPolicy {
    /** Park on a lock until signalled: no CPU while idle; a wake-up costs a few microseconds. */
    BLOCKING,
    /**
     * Spin for a few microseconds, then yield, then park: lower latency at queue depth 1 for some
     * CPU while idle. Worth it with spare cores, not on a busy two-core machine.
     */
    SPIN_THEN_BLOCK
}
