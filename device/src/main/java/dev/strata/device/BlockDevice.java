package dev.strata.device;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;

/**
 * A guest disk (virtio-blk or IDE) as the monitor sees it: names, the backend it holds, its
 * statistics and error state. The guest-facing side differs per model and lives on the concrete
 * classes.
 *
 * <p>Thread safety: every method may be called from any thread (monitor, tests).
 */
public interface BlockDevice {

    /** The drive (BlockBackend) name, e.g. {@code virtio0}, {@code ide0-hd0}. */
    String driveId();

    /** The {@code -device ...,id=} of the device, or null when it has none. */
    String qdevId();

    /** The device's canonical QOM path, e.g. {@code /machine/peripheral-anon/device[0]/virtio-backend}. */
    String qomPath();

    /**
     * What {@code info block} prints after {@code Attached to:} and {@code query-block} returns as
     * {@code qdev}: the id of the device the backend is attached to when it has one, else its QOM
     * path. (For virtio-blk the attached device is the proxy's {@code virtio-backend} child, which
     * never has an id, so an id'd virtio-blk-pci still shows {@code /machine/peripheral/ID/virtio-backend};
     * an id'd ide-hd shows the bare id. Observed on QEMU 7.2.)
     */
    String attachedTo();

    /** The device model, e.g. {@code virtio-blk-pci}, {@code ide-hd}. */
    String model();

    BlockBackend backend();

    /** Accounting as {@code query-blockstats} reports it. */
    BlockStats stats();

    /** ok, or failed/nospace after a request stopped the machine (until {@code cont}). */
    IoStatus ioStatus();

    /** Clears the I/O status (QEMU's {@code cont} does this for every device before resuming). */
    void resetIoStatus();

    OnError readErrorPolicy();

    OnError writeErrorPolicy();

    /**
     * Waits until every request the guest published to this device has completed, except those an
     * rerror/werror=stop policy parked until {@code cont}. Only meaningful once the vCPUs are stopped
     * ({@link VmRunState#stop}); the machine's {@code stop} calls it for every device.
     */
    void drain();

    /**
     * Detaches from the guest: stops taking requests, waits (bounded) for those in flight and
     * releases the device's threads. The backend stays open; it belongs to the block graph.
     */
    void close();
}
