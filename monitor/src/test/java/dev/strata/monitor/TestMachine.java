package dev.strata.monitor;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.device.RunState;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/** A real machine for monitor tests: a block graph of real images, a run state, a quit latch. */
public class TestMachine implements Machine {

    private final BlockGraph graph = new BlockGraph();
    private final AtomicReference<RunState> state = new AtomicReference<>(RunState.PRELAUNCH);
    private final CountDownLatch quit = new CountDownLatch(1);
    private final Path history;

    public TestMachine(Path dir) {
        this.history = dir.resolve("history");
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
