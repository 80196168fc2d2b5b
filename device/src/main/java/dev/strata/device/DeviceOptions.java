package dev.strata.device;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.error.OnError;
import dev.strata.device.ring.RingThreads;
import dev.strata.device.ring.RingWaitPolicy;

/**
 * How to build one guest disk: the backend it holds and the {@code -device}/{@code -drive}
 * properties that matter to it. Immutable; start from {@link #of} and use the withers.
 *
 * @param backend   the drive (BlockBackend) the device holds
 * @param id        the {@code -device ...,id=} value, or null (an anonymous device)
 * @param rerror    read error policy ({@code rerror=}, default report)
 * @param werror    write error policy ({@code werror=}, default enospc)
 * @param serial    the {@code serial=} string returned by GET_ID / IDENTIFY, or null
 * @param queueSize virtio queue size ({@code queue-size=}, power of two, default 256 as QEMU's)
 * @param ringWait  how the device's ring threads wait for work
 * @param ringThreads what kind of thread runs the device's iothread and interrupt thread
 */
public record DeviceOptions(BlockBackend backend, String id, OnError rerror, OnError werror,
                            String serial, int queueSize, RingWaitPolicy ringWait, RingThreads ringThreads) {

    /** QEMU's default virtio-blk {@code queue-size}. */
    public static final int DEFAULT_QUEUE_SIZE = 256;

    public DeviceOptions {
        if (backend == null) {
            throw new IllegalArgumentException("a device needs a drive");
        }
        if (rerror == OnError.ENOSPC) {
            throw new IllegalArgumentException("'enospc' invalid read error action");
        }
        if (queueSize < 2 || queueSize > 1024 || Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("queue-size must be a power of 2 between 2 and 1024, not " + queueSize);
        }
    }

    /** Defaults for {@code backend}: anonymous, rerror=report, werror=enospc, no serial, queue 256. */
    public static DeviceOptions of(BlockBackend backend) {
        return new DeviceOptions(backend, null, OnError.DEFAULT_RERROR, OnError.DEFAULT_WERROR, null,
                DEFAULT_QUEUE_SIZE, RingWaitPolicy.BLOCKING, RingThreads.VIRTUAL);
    }

    public DeviceOptions withId(String newId) {
        return new DeviceOptions(backend, newId, rerror, werror, serial, queueSize, ringWait, ringThreads);
    }

    public DeviceOptions withErrorPolicies(OnError read, OnError write) {
        return new DeviceOptions(backend, id, read, write, serial, queueSize, ringWait, ringThreads);
    }

    public DeviceOptions withSerial(String newSerial) {
        return new DeviceOptions(backend, id, rerror, werror, newSerial, queueSize, ringWait, ringThreads);
    }

    public DeviceOptions withQueueSize(int size) {
        return new DeviceOptions(backend, id, rerror, werror, serial, size, ringWait, ringThreads);
    }

    public DeviceOptions withRingThreads(RingThreads kind) {
        return new DeviceOptions(backend, id, rerror, werror, serial, queueSize, ringWait, kind);
    }

    public DeviceOptions withRingWait(RingWaitPolicy wait) {
        return new DeviceOptions(backend, id, rerror, werror, serial, queueSize, wait, ringThreads);
    }
}
