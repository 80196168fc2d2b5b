package dev.strata.monitor;

import dev.strata.monitor.block.BlockCommands;
import dev.strata.monitor.hmp.HmpBuiltins;
import dev.strata.monitor.qemuio.QemuIoCommand;
import dev.strata.monitor.hmp.HmpInterpreter;
import dev.strata.monitor.system.JobQueries;
import dev.strata.monitor.system.SystemCommands;
import dev.strata.monitor.hmp.HmpSocketServer;
import dev.strata.monitor.qmp.QmpServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * The monitor of one machine: the command registry with every built-in command and every
 * {@link CommandModule} on the class path, the event bus, and the HMP interpreter. The launcher
 * creates one per machine and starts the front ends it was asked for.
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

    /** A monitor with the built-in commands and all command modules found by {@link ServiceLoader}. */
    public static Monitor create(Machine machine) {
        return create(machine, new EventBus());
    }

    /** As {@link #create(Machine)}, with an event bus the launcher already handed to other parts. */
    public static Monitor create(Machine machine, EventBus events) {
        CommandRegistry r = new CommandRegistry();
        SystemCommands.register(r);
        JobQueries.register(r);
        BlockCommands.register(r);
        QemuIoCommand.register(r);
        HmpBuiltins.register(r, machine, events);
        dev.strata.monitor.watch.WatchCommands.register(r);
        for (CommandModule m : ServiceLoader.load(CommandModule.class, Monitor.class.getClassLoader())) {
            m.register(r, machine, events);
        }
        dev.strata.monitor.system.DeviceEventBridge.attach(machine, events);
        return new Monitor(machine, r, events);
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

    /** Starts QMP on a unix socket ({@code -qmp unix:PATH,server=on,wait=off}); close the result to stop it. */
    public QmpServer startQmp(Path socket) throws IOException {
        return QmpServer.start(this, socket);
    }

    /** Starts HMP on a unix socket ({@code -monitor unix:PATH,server=on,wait=off}); close the result to stop it. */
    public HmpSocketServer startHmp(Path socket) throws IOException {
        return HmpSocketServer.start(this, socket);
    }
}
