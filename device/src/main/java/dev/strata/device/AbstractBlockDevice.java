package dev.strata.device;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;
import java.util.List;

/**
 * What every guest disk model shares, whatever its bus: the names it answers to, the backend it
 * holds, its accounting and its rerror/werror state. The models (virtio-blk, IDE) differ only in
 * how the guest talks to them, so the monitor-facing half of {@link BlockDevice} lives here once.
 *
 * <p>Thread safety: the fields are final; {@link IoAccounting} and {@link IoErrorHandler} guard
 * their own state, so every accessor may be called from any thread.
 */
public abstract class AbstractBlockDevice implements BlockDevice {

    protected final DeviceOptions options;
    protected final String qomPath;
    protected final IoAccounting accounting = new IoAccounting();
    protected final IoErrorHandler errors;
    /** Guest requests published and not completed (nor parked by an error policy). */
    protected final InflightRequests inflight = new InflightRequests();

    protected AbstractBlockDevice(DeviceOptions options, String qomPath, VmRunState vm, List<DeviceEventListener> listeners) {
        this.options = options;
        this.qomPath = qomPath;
        this.errors = new IoErrorHandler(options.rerror(), options.werror(), vm, listeners, inflight);
        errors.bind(this);
    }

    @Override
    public String driveId() {
        return options.backend().name();
    }

    @Override
    public String qdevId() {
        return options.id();
    }

    @Override
    public String qomPath() {
        return qomPath;
    }

    @Override
    public BlockBackend backend() {
        return options.backend();
    }

    @Override
    public BlockStats stats() {
        return accounting.snapshot();
    }

    @Override
    public IoStatus ioStatus() {
        return errors.ioStatus();
    }

    @Override
    public void resetIoStatus() {
        errors.resetIoStatus();
    }

    @Override
    public OnError readErrorPolicy() {
        return errors.readPolicy();
    }

    @Override
    public OnError writeErrorPolicy() {
        return errors.writePolicy();
    }

    @Override
    public void drain() {
        inflight.awaitIdle();
    }

    @Override
    public String toString() {
        return model() + " " + driveId() + " at " + qomPath;
    }
}
