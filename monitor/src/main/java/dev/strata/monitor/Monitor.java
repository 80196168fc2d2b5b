package dev.strata.monitor;

import dev.strata.monitor.hmp.HmpBuiltins;
import dev.strata.monitor.hmp.HmpInterpreter;
import java.util.List;

/**
 * The monitor of one machine: the command registry, the event bus and the HMP interpreter.
 * The launcher creates one per machine with every {@link CommandSet} the machine has, then starts
 * the front ends it was asked for on top of it ({@code QmpServer}, {@code HmpSocketServer},
 * {@code JLineConsole}); the monitor knows none of them.
 *
 * <p>Thread safety: created once on the launcher thread; afterwards all members are safe to use
 * from any thread.
 */
public final class Monitor {

    private final Machine machine;
    private final CommandRegistry registry;
    private final EventBus events;
    private final HmpInterpreter hmp;

    private Monitor(Machine machine, CommandRegistry registry, EventBus events) {
        this.machine = machine;
        this.registry = registry;
        this.events = events;
        this.hmp = new HmpInterpreter(machine, registry, events);
    }

    /**
     * A monitor of {@code machine} whose registry holds HMP's own commands ({@code help},
     * {@code info}, {@code human-monitor-command}) and then every command of {@code sets}, in
     * order; a name registered twice fails. {@code events} is the bus the launcher already gave
     * the machine's event sources.
     */
    public static Monitor create(Machine machine, EventBus events, List<CommandSet> sets) {
        Monitor m = new Monitor(machine, new CommandRegistry(), events);
        HmpBuiltins.register(m.registry, m.hmp);
        for (CommandSet s : sets) {
            s.register(m.registry);
        }
        return m;
    }

    public Machine machine() {
        return machine;
    }

    public CommandRegistry registry() {
        return registry;
    }

    public EventBus events() {
        return events;
    }

    public HmpInterpreter hmp() {
        return hmp;
    }
}
