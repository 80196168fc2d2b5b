package dev.strata.device;

import dev.strata.blockdrv.BlockException;
import dev.strata.device.ide.IdeDisk;
import dev.strata.device.virtio.VirtioBlkDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The machine's guest disks: builds them with QEMU's QOM paths, finds them by drive or id, and
 * ties them to the run state ({@code cont} resets every device's I/O status first, as QEMU's
 * does). The launcher creates devices in QEMU's order (the {@code -device} options first, then
 * {@code if=virtio} drives) so anonymous numbering matches: {@code /machine/peripheral-anon/device[N]}
 * counts anonymous {@code -device}s and {@code if=virtio} drives in creation order, and
 * {@code if=ide} disks are {@code /machine/unattached/device[18+k]} (k-th if=ide disk; the
 * {@code -machine pc -nodefaults} numbering observed on QEMU 7.2).
 *
 * <p>Thread safety: any thread; the device list and counters are guarded by {@code lock}.
 */
public final class Peripherals implements AutoCloseable {

    /** First {@code /machine/unattached/device[N]} index QEMU 7.2 gives an onboard IDE disk. */
    static final int FIRST_ONBOARD_IDE_INDEX = 18;

    private final VmRunState vm;
    private final GuestMemory memory;
    private final List<DeviceEventListener> listeners = new CopyOnWriteArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final List<BlockDevice> devices = new ArrayList<>();
    private int anonCount;
    private int onboardIdeCount;
    private int ideCount;

    public Peripherals(VmRunState vm, GuestMemory memory) {
        this.vm = vm;
        this.memory = memory;
        vm.addResumeHook(() -> devices().forEach(BlockDevice::resetIoStatus));
    }

    public VmRunState vm() {
        return vm;
    }

    public GuestMemory memory() {
        return memory;
    }

    /** Receives BLOCK_IO_ERROR from every device, present and future. */
    public void addEventListener(DeviceEventListener l) {
        listeners.add(l);
    }

    /** {@code -device virtio-blk-pci,drive=...[,id=...]} or {@code -drive ...,if=virtio}. */
    public VirtioBlkDevice createVirtioBlk(DeviceOptions o) {
        lock.lock();
        try {
            checkNew(o);
            String path = o.id() != null ? "/machine/peripheral/" + o.id() + "/virtio-backend"
                    : "/machine/peripheral-anon/device[" + anonCount++ + "]/virtio-backend";
            VirtioBlkDevice d = new VirtioBlkDevice(o, path, vm, memory, listeners);
            devices.add(d);
            return d;
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code -device ide-hd,drive=...[,id=...]} ({@code onboard=false}) or a disk made by
     * {@code -drive ...,if=ide} ({@code onboard=true}, never has an id).
     */
    public IdeDisk createIdeHd(DeviceOptions o, boolean onboard) {
        lock.lock();
        try {
            checkNew(o);
            String path;
            if (onboard) {
                path = "/machine/unattached/device[" + (FIRST_ONBOARD_IDE_INDEX + onboardIdeCount++) + "]";
            } else if (o.id() != null) {
                path = "/machine/peripheral/" + o.id();
            } else {
                path = "/machine/peripheral-anon/device[" + anonCount++ + "]";
            }
            // QEMU numbers IDE serials QM00001, QM00002, ... in creation order
            String serial = o.serial() != null ? o.serial() : String.format("QM%05d", ++ideCount);
            IdeDisk d = new IdeDisk(o.withSerial(serial), path, vm, memory, listeners);
            devices.add(d);
            return d;
        } finally {
            lock.unlock();
        }
    }

    private void checkNew(DeviceOptions o) {
        for (BlockDevice d : devices) {
            if (o.id() != null && o.id().equals(d.qdevId())) {
                throw BlockException.invalid("Duplicate ID '" + o.id() + "' for device");
            }
            if (d.backend() == o.backend()) {
                throw BlockException.invalid("Drive '" + o.backend().name() + "' is already in use by another device");
            }
        }
    }

    /** Devices in creation order. */
    public List<BlockDevice> devices() {
        lock.lock();
        try {
            return List.copyOf(devices);
        } finally {
            lock.unlock();
        }
    }

    /** The device holding drive {@code driveId}, or null. */
    public BlockDevice byDrive(String driveId) {
        for (BlockDevice d : devices()) {
            if (d.driveId().equals(driveId)) {
                return d;
            }
        }
        return null;
    }

    /** The device with {@code -device ...,id=qdevId}, or null. */
    public BlockDevice byId(String qdevId) {
        for (BlockDevice d : devices()) {
            if (qdevId.equals(d.qdevId())) {
                return d;
            }
        }
        return null;
    }

    /** Drains every device ({@link BlockDevice#drain}); call with the vCPUs stopped. */
    public void drainAll() {
        for (BlockDevice d : devices()) {
            d.drain();
        }
    }

    /** Closes every device (after {@link VmRunState#shutdown()} so stopped requests let go). */
    @Override
    public void close() {
        for (BlockDevice d : devices()) {
            d.close();
        }
    }
}
