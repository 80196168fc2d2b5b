package dev.strata.device.ring;

/**
 * What kind of thread runs a queue's iothread and interrupt thread.
 */
public enum RingThreads {
    /**
     * Virtual threads (the default): a request's whole trip (guest publish, iothread, worker,
     * interrupt, guest wake-up) can stay on one carrier with no OS-level wake-up in between, as
     * QEMU's coroutines stay in one iothread. Measured 1-2 us p50 at queue depth 1 on null-co,
     * against ~40 us with platform threads.
     */
    VIRTUAL,
    /**
     * Platform threads: each hand-off is an OS wake-up. Kept for diagnosis, and for tests that
     * measure a ring thread's allocation (the JDK counts it per platform thread only).
     */
    PLATFORM
}
