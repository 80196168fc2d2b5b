package dev.strata.device.ide;

/**
 * The IDE channel's interrupt line, raised once when a command completes (successfully or not);
 * the guest then reads the status and error registers. Called on the disk's command thread.
 */
@FunctionalInterface
public interface IdeInterrupt {
    void raise();
}
