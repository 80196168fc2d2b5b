package dev.strata.monitor;

/**
 * A group of monitor commands that belong together (the job commands, the NBD commands, ...).
 * The launcher builds each set with the machine parts its commands drive, passed to its
 * constructor, and hands them all to {@link Monitor#create}, which registers them in order before
 * any client connects. A set of stateless commands can be a method reference:
 * {@code SystemCommands::register}.
 *
 * <p>Threads: {@link #register} runs once, on the thread that builds the monitor; the handlers it
 * registers run on monitor threads.
 */
@FunctionalInterface
public interface CommandSet {

    /** Adds this set's commands (and completion sources) to {@code registry}. */
    void register(CommandRegistry registry);
}
