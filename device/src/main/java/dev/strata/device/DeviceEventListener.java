package dev.strata.device;

import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;

/**
 * Events a device raises for the monitor. Called on the device's request thread right when the
 * error is handled (before the machine stops for {@code action=stop}); implementations must be
 * quick and must not block on guest I/O.
 */
@FunctionalInterface
public interface DeviceEventListener {

    /**
     * QEMU's {@code BLOCK_IO_ERROR}: {@code {"device": driveId, "node-name": nodeName, "operation":
     * operation, "action": action, "nospace": nospace, "reason": reason}}. One call per failed
     * request, whatever the action.
     *
     * @param device   the device (its {@link BlockDevice#driveId()} is the event's {@code device})
     * @param nodeName the backend's root node name at the time of the error
     * @param reason   the C library text of the error, e.g. {@code Input/output error}
     */
    void blockIoError(BlockDevice device, String nodeName, IoOperation operation, ErrorAction action,
                      boolean nospace, String reason);
}
