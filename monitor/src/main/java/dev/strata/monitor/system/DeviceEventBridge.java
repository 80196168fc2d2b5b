package dev.strata.monitor.system;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.Json;

/**
 * Turns what devices and the run state report into QMP events, as QEMU sends them:
 * {@code BLOCK_IO_ERROR} for every failed guest request whatever the action (data keys in QEMU's
 * order: device, node-name, operation, action, nospace, reason), and {@code STOP} when an error
 * policy stops the machine ({@code stop} and {@code cont} send their own STOP and RESUME).
 *
 * <p>Listeners run on device request threads and on the thread that changed the run state; the
 * bus only queues, so they never block guest I/O.
 */
public final class DeviceEventBridge {

    private DeviceEventBridge() {
    }

    /** Sends the events of the machine's {@code devices} and run state {@code vm} to {@code bus}; once per machine. */
    public static void attach(Peripherals devices, VmRunState vm, EventBus bus) {
        devices.addEventListener((dev, node, op, action, nospace, reason) -> {
            ObjectNode d = Json.object();
            d.put("device", dev.driveId());
            if (node != null) {
                d.put("node-name", node);
            }
            d.put("operation", op.qapiName());
            d.put("action", action.qapiName());
            d.put("nospace", nospace);
            d.put("reason", reason);
            bus.emit("BLOCK_IO_ERROR", d);
        });
        vm.addListener((before, now) -> {
            if (now == RunState.IO_ERROR && before != RunState.IO_ERROR) {
                bus.emit("STOP", null);
            }
        });
    }
}
