package dev.strata.harness.launcher;

import dev.strata.monitor.EventBus;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.block.BlockCommands;
import dev.strata.monitor.jobs.JobCommands;
import dev.strata.monitor.jobs.JobEventBridge;
import dev.strata.monitor.nbd.NbdCommands;
import dev.strata.monitor.nbd.NbdService;
import dev.strata.monitor.qemuio.QemuIoCommand;
import dev.strata.monitor.system.DeviceEventBridge;
import dev.strata.monitor.system.SystemCommands;
import dev.strata.monitor.watch.WatchCommands;
import java.util.List;

/**
 * Wires a machine's monitor: every command set Strata has, each built with the machine parts its
 * commands drive, and the bridges that turn the jobs', devices' and run state's events into QMP
 * events on the one bus. This is the only place that knows which command sets exist; the front
 * ends ({@code -qmp}, {@code -monitor}) are started on the result by {@link MachineBuilder}.
 *
 * <p>Stateless; called once per machine on the launcher's main thread.
 */
final class MachineMonitor {

    private MachineMonitor() {
    }

    static Monitor create(StrataMachine m, EventBus events) {
        NbdService nbd = new NbdService(m.graph(), m.objects(), events);
        Monitor monitor = Monitor.create(m, events, List.of(
                SystemCommands::register,
                BlockCommands::register,
                QemuIoCommand::register,
                new JobCommands(m.jobs()),
                new NbdCommands(nbd),
                new WatchCommands(m.jobs(), new GuestWatchAdapter(m.guest()))));
        JobEventBridge.attach(m.jobs(), events);
        DeviceEventBridge.attach(m.devices(), m.vm(), events);
        return monitor;
    }
}
