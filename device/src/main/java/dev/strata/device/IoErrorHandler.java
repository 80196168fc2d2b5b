package dev.strata.device;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One device's rerror/werror logic, shared by every device model: decide the action for a failed
 * request, set the I/O status, raise {@code BLOCK_IO_ERROR}, stop the machine, and let the
 * request wait for {@code cont} to be retried. Mirrors QEMU's {@code blk_error_action}: the
 * status is set before the event, and the event before the machine stops.
 *
 * <p>Thread safety: any request thread. {@code ioStatus} is an atomic reference; listeners are a
 * copy-on-write list.
 */
public final class IoErrorHandler {

    private final OnError readPolicy;
    private final OnError writePolicy;
    private final VmRunState vm;
    private final List<DeviceEventListener> listeners;
    private final InflightRequests inflight;
    private final AtomicReference<IoStatus> ioStatus = new AtomicReference<>(IoStatus.OK);
    private BlockDevice device;

    /**
     * @param inflight the device's running requests; a request waiting in {@link #awaitRetry()}
     *                 leaves it, so draining the device does not wait for {@code cont}
     */
    public IoErrorHandler(OnError readPolicy, OnError writePolicy, VmRunState vm,
                          List<DeviceEventListener> listeners, InflightRequests inflight) {
        if (readPolicy == OnError.ENOSPC) {
            throw new IllegalArgumentException("'enospc' invalid read error action");
        }
        this.readPolicy = readPolicy;
        this.writePolicy = writePolicy;
        this.vm = vm;
        this.listeners = listeners == null ? new CopyOnWriteArrayList<>() : listeners;
        this.inflight = inflight;
    }

    /** Binds the device named in events; called once by the device's constructor. */
    public void bind(BlockDevice device) {
        this.device = device;
    }

    public OnError readPolicy() {
        return readPolicy;
    }

    public OnError writePolicy() {
        return writePolicy;
    }

    public IoStatus ioStatus() {
        return ioStatus.get();
    }

    public void resetIoStatus() {
        ioStatus.set(IoStatus.OK);
    }

    /**
     * Handles a failure of a request in direction {@code op}. For STOP this sets the I/O status,
     * raises the event and stops the machine; the caller then calls {@link #awaitRetry()} and
     * runs the request again.
     *
     * @return the action taken
     */
    public ErrorAction handle(IoOperation op, BlockException e) {
        OnError policy = op == IoOperation.READ ? readPolicy : writePolicy;
        ErrorAction action = policy.actionFor(e.kind());
        boolean nospace = e.kind() == BlockException.Kind.NO_SPACE;
        if (action == ErrorAction.STOP) {
            // QEMU keeps the first error's status until cont resets it
            ioStatus.compareAndSet(IoStatus.OK, nospace ? IoStatus.NOSPACE : IoStatus.FAILED);
        }
        String node = device.backend().root().nodeName();
        for (DeviceEventListener l : listeners) {
            l.blockIoError(device, node, op, action, nospace, e.kind().strerror());
        }
        if (action == ErrorAction.STOP) {
            // Only the vCPUs are paused here, no drain and no flush: this runs on a request's own
            // thread, which is itself counted as running, and other requests may be about to fail
            // and park too; draining from here would wait for ourselves. The failed request parks in
            // awaitRetry (leaving the running count), so a later user `stop` drains what is left.
            vm.stop(RunState.IO_ERROR);
        }
        return action;
    }

    /**
     * Waits until the machine runs again so a stopped request can be retried.
     *
     * @return true to retry; false when the machine shut down (complete the request with an error)
     */
    public boolean awaitRetry() {
        inflight.parked();
        try {
            return vm.awaitRunning();
        } finally {
            inflight.retrying();
        }
    }
}
