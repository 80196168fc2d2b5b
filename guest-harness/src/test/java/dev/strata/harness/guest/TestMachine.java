package dev.strata.harness.guest;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.device.BlockDevice;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import java.util.function.UnaryOperator;

/**
 * A whole machine in-process, assembled the way the launcher does: graph, backend, device, guest.
 * Close it to shut everything down in order (vm, guest, devices, graph).
 */
final class TestMachine implements AutoCloseable {

    final BlockGraph graph = new BlockGraph();
    final VmRunState vm = new VmRunState(RunState.RUNNING);
    final GuestMemory memory = GuestMemory.allocate(64 << 20);
    final Peripherals devices = new Peripherals(vm, memory);
    final Guest guest = new Guest(vm, memory);

    /** Opens {@code driveOptions} (QEMU -drive syntax minus if/id) as backend {@code id} on a virtio-blk device. */
    GuestDisk virtio(String id, String driveOptions, UnaryOperator<DeviceOptions> tweak) {
        BlockDevice d = devices.createVirtioBlk(tweak.apply(DeviceOptions.of(backend(id, driveOptions))));
        return guest.attach(d);
    }

    GuestDisk ide(String id, String driveOptions, UnaryOperator<DeviceOptions> tweak) {
        BlockDevice d = devices.createIdeHd(tweak.apply(DeviceOptions.of(backend(id, driveOptions))), true);
        return guest.attach(d);
    }

    BlockBackend backend(String id, String driveOptions) {
        BlockNode root = graph.open(BlockOptions.parse(driveOptions, "file"));
        return graph.createBackend(id, root, BlockBackend.CacheMode.WRITEBACK);
    }

    @Override
    public void close() {
        guest.close();
        vm.shutdown();
        devices.close();
        graph.closeAll();
    }
}
