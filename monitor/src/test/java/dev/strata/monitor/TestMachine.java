package dev.strata.monitor;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import dev.strata.jobs.JobManager;
import dev.strata.monitor.block.BlockCommands;
import dev.strata.monitor.jobs.JobCommands;
import dev.strata.monitor.jobs.JobEventBridge;
import dev.strata.monitor.nbd.NbdCommands;
import dev.strata.monitor.nbd.NbdService;
import dev.strata.monitor.qemuio.QemuIoCommand;
import dev.strata.monitor.system.SystemCommands;
import dev.strata.monitor.watch.GuestWatch;
import dev.strata.monitor.watch.WatchCommands;
import dev.strata.device.RunState;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real machine for monitor tests: a block graph of real images, a job manager, a run state, a
 * quit latch; no devices, no guest. {@link #monitor} wires its monitor as the launcher wires a
 * machine's.
 */
public class TestMachine implements Machine {

    private final BlockGraph graph = new BlockGraph();
    private final JobManager jobs = new JobManager();
    private final AtomicReference<RunState> state = new AtomicReference<>(RunState.PRELAUNCH);
    private final CountDownLatch quit = new CountDownLatch(1);
    private final Path history;

    public TestMachine(Path dir) {
        this.history = dir.resolve("history");
    }

    /** A monitor with every command set, over this machine's graph and jobs, and no guest. */
    public Monitor monitor() {
        return monitor(GuestWatch.NONE);
    }

    /** A monitor with every command set; {@code info guest} reads {@code guest}. */
    public Monitor monitor(GuestWatch guest) {
        EventBus events = new EventBus();
        Monitor m = Monitor.create(this, events, List.of(
                SystemCommands::register,
                BlockCommands::register,
                QemuIoCommand::register,
                new JobCommands(jobs),
                new NbdCommands(new NbdService(graph, new UserObjects(), events)),
                new WatchCommands(jobs, guest)));
        JobEventBridge.attach(jobs, events);
        return m;
    }

    public JobManager jobs() {
        return jobs;
    }

    /** Opens {@code file} (format probed unless given) as drive {@code id}, attached like QEMU's first virtio disk. */
    public BlockBackend addDrive(String id, Path file, String format) {
        BlockOptions o = BlockOptions.empty().with("file", file.toString());
        if (format != null) {
            o = o.with("driver", format);
        }
        BlockNode root = graph.open(o);
        BlockBackend b = graph.createBackend(id, root, BlockBackend.CacheMode.WRITEBACK);
        b.setAttachedTo("/machine/peripheral-anon/device[" + (graph.backends().size() - 1) + "]/virtio-backend");
        return b;
    }

    @Override
    public BlockGraph graph() {
        return graph;
    }

    @Override
    public RunState runState() {
        return state.get();
    }

    @Override
    public void stop() {
        state.compareAndSet(RunState.RUNNING, RunState.PAUSED);
    }

    @Override
    public void cont() {
        state.set(RunState.RUNNING);
    }

    @Override
    public void quit() {
        graph.closeAll();
        quit.countDown();
    }

    public boolean quitCalled() {
        return quit.getCount() == 0;
    }

    public CountDownLatch quitLatch() {
        return quit;
    }

    @Override
    public Path historyFile() {
        return history;
    }
}
