package dev.strata.monitor;

/**
 * A set of commands another package contributes, e.g. {@code dev.strata.monitor.jobs}. Found with
 * {@link java.util.ServiceLoader}: list the class in
 * {@code monitor/src/main/resources/META-INF/services/dev.strata.monitor.CommandModule}. The
 * {@link Monitor} calls {@link #register} once, before any client connects.
 */
public interface CommandModule {

    /**
     * Registers this module's commands (and completion sources) into {@code registry}. Use
     * {@code machine.lookup(SomeType.class)} to reach the machine part the commands drive, and
     * {@code events} to emit QMP events; keep references for later calls.
     */
    void register(CommandRegistry registry, Machine machine, EventBus events);
}
