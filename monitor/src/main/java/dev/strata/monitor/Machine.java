package dev.strata.monitor;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.device.BlockStats;
import dev.strata.device.RunState;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What every monitor command may ask of the machine it controls, through
 * {@link CommandContext#machine()}. Parts that only some commands drive (the job manager, the
 * NBD service, the guest) are not here: the launcher passes them to those {@link CommandSet}s'
 * constructors. The launcher implements it; tests use a small implementation over a real
 * {@link BlockGraph}.
 *
 * <p>Threads: every method may be called from any monitor thread (QMP clients and HMP consoles
 * run on their own virtual threads, possibly at once); implementations guard their own state.
 * Block-graph changes made by commands drain the backends involved themselves.
 */
public interface Machine {

    /** The block graph: backends (drives such as {@code virtio0}) and nodes. */
    BlockGraph graph();

    /** The current run state for {@code query-status} / {@code info status}. */
    RunState runState();

    /**
     * Pauses the guest CPUs (block jobs keep running) and, as QEMU's {@code vm_stop}, drains the
     * guest's requests and flushes, so nothing more reaches a disk once it returns. No pause when
     * not running.
     */
    void stop();

    /**
     * Like {@link #stop()}, running {@code paused} once the CPUs are paused and before the devices
     * are drained (where QEMU sends its STOP event). The default has no such moment to offer and runs
     * it after {@link #stop()}.
     */
    default void stop(Runnable paused) {
        stop();
        paused.run();
    }

    /** Resumes the guest. No effect when already running. */
    void cont();

    /**
     * Leaves: flushes and closes every image, then ends the machine (the launcher exits the
     * process; a test machine just records it). Called once the monitor has answered the client.
     */
    void quit();

    /** Where HMP keeps its line history across runs. */
    default Path historyFile() {
        return Path.of(System.getProperty("user.home", "."), ".strata_history");
    }

    /** I/O accounting of the device on backend {@code backend}; empty when no device is attached. */
    default Optional<BlockStats> deviceStats(String backend) {
        return Optional.empty();
    }

    /** The device's {@code io-status} ({@code ok}, {@code failed}, {@code nospace}). */
    default String ioStatus(String backend) {
        return "ok";
    }
}
