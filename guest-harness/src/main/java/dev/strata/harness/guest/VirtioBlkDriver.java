package dev.strata.harness.guest;

import dev.strata.device.GuestMemory;
import dev.strata.device.VmRunState;
import dev.strata.device.ring.AvailRing;
import dev.strata.device.ring.GuestInterrupt;
import dev.strata.device.virtio.VirtioBlkConfig;
import dev.strata.device.virtio.VirtioBlkDevice;
import dev.strata.device.virtio.VirtioBlkSpec;
import dev.strata.device.virtio.VirtioSpec;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The guest's virtio-blk driver, laid out like Linux's: each request is a chain of a 16-byte
 * header descriptor, one data descriptor (absent for flush) and a 1-byte status descriptor, built
 * in guest memory and published on the device's available ring. The calling thread parks until
 * the interrupt handler sees its head on the used ring.
 *
 * <p>Descriptors are grouped in fixed triples (request slot {@code t} owns descriptors 3t..3t+2),
 * so the driver can have {@code queueSize / 3} requests outstanding and never allocates on the
 * request path.
 *
 * <p>Thread safety: requests from any number of guest threads; free slots are guarded by
 * {@code freeLock}; a slot belongs to its caller from acquire to release; {@code used}/{@code
 * interrupt} run on the device's interrupt thread only (they own {@code batch}).
 */
public final class VirtioBlkDriver implements GuestDisk, GuestInterrupt {

    private static final int DESCS = 3;
    private static final int SLOT_STRIDE = 64;
    private static final int RANGE_AT = 16;
    private static final int STATUS_AT = 32;

    private final VirtioBlkDevice device;
    private final GuestMemory mem;
    private final VmRunState vm;
    /** Bumped by {@link #abandonWaiting}: a request that saw another value before waiting gives up. */
    private volatile long abandonEpoch;
    private final VirtioBlkConfig config;
    private final long descTable;
    private final Slot[] slots;
    private final ReentrantLock freeLock = new ReentrantLock();
    private final Condition slotFreed = freeLock.newCondition();
    private final int[] free;
    private int freeTop;
    private final int[] batch;
    private int batchCount;
    private final AvailRing avail;
    private volatile boolean closed;
    private volatile long spuriousCompletions;

    private static final class Slot {
        final int head;
        final long area;
        volatile boolean done;
        volatile Thread waiter;
        volatile int usedLen;

        Slot(int head, long area) {
            this.head = head;
            this.area = area;
        }
    }

    /** Probes {@code device}, lays out its queue in guest memory from {@code alloc} and activates it. */
    public VirtioBlkDriver(VirtioBlkDevice device, GuestAllocator alloc, VmRunState vm) {
        this.device = device;
        this.mem = alloc.memory();
        this.vm = vm;
        this.config = device.config();
        int queueSize = device.queueSize();
        int n = queueSize / DESCS;
        this.descTable = alloc.allocate(queueSize * VirtioSpec.DESC_SIZE, 4096).address();
        long areas = alloc.allocate(n * SLOT_STRIDE, 64).address();
        this.slots = new Slot[n];
        this.free = new int[n];
        for (int i = 0; i < n; i++) {
            slots[i] = new Slot(i * DESCS, areas + (long) i * SLOT_STRIDE);
            free[i] = n - 1 - i;
        }
        freeTop = n;
        this.batch = new int[queueSize];
        this.avail = device.activate(descTable, this);
    }

    @Override
    public String driveId() {
        return device.driveId();
    }

    @Override
    public long capacity() {
        return config.capacitySectors() << VirtioBlkSpec.SECTOR_SHIFT;
    }

    @Override
    public int maxInFlight() {
        return slots.length;
    }

    /** The device configuration read at probe time. */
    public VirtioBlkConfig config() {
        return config;
    }

    @Override
    public IoResult read(long offset, GuestBuffer buf) {
        return submit(VirtioBlkSpec.T_IN, offset >>> VirtioBlkSpec.SECTOR_SHIFT, buf, true, 0, 0);
    }

    @Override
    public IoResult write(long offset, GuestBuffer buf) {
        return submit(VirtioBlkSpec.T_OUT, offset >>> VirtioBlkSpec.SECTOR_SHIFT, buf, false, 0, 0);
    }

    @Override
    public IoResult flush() {
        return submit(VirtioBlkSpec.T_FLUSH, 0, null, false, 0, 0);
    }

    /** Reads the device's serial (GET_ID) into {@code buf} (20 bytes wanted). */
    public IoResult getId(GuestBuffer buf) {
        return submit(VirtioBlkSpec.T_GET_ID, 0, buf, true, 0, 0);
    }

    /** Discards {@code bytes} at {@code offset} (one range). */
    public IoResult discard(long offset, long bytes) {
        return submit(VirtioBlkSpec.T_DISCARD, offset >>> VirtioBlkSpec.SECTOR_SHIFT, null, false,
                bytes >>> VirtioBlkSpec.SECTOR_SHIFT, 0);
    }

    /** Writes zeroes over {@code bytes} at {@code offset} (one range), allowing unmap if asked. */
    public IoResult writeZeroes(long offset, long bytes, boolean unmap) {
        return submit(VirtioBlkSpec.T_WRITE_ZEROES, offset >>> VirtioBlkSpec.SECTOR_SHIFT, null, false,
                bytes >>> VirtioBlkSpec.SECTOR_SHIFT, unmap ? VirtioBlkSpec.DWZ_FLAG_UNMAP : 0);
    }

    private IoResult submit(int type, long sector, GuestBuffer data, boolean deviceWrites, long rangeSectors,
                            int rangeFlags) {
        if (closed) {
            return IoResult.ABORTED;
        }
        Slot s = acquire();
        if (s == null) {
            return IoResult.ABORTED;
        }
        boolean ranged = type == VirtioBlkSpec.T_DISCARD || type == VirtioBlkSpec.T_WRITE_ZEROES;
        long header = s.area;
        long status = s.area + STATUS_AT;
        mem.putInt(header + VirtioBlkSpec.HEADER_TYPE, type);
        mem.putInt(header + 4, 0);
        mem.putLong(header + VirtioBlkSpec.HEADER_SECTOR, ranged ? 0 : sector);
        mem.putByte(status, (byte) 0xff);
        int d = s.head;
        if (ranged) {
            long range = s.area + RANGE_AT;
            mem.putLong(range, sector);
            mem.putInt(range + VirtioBlkSpec.DWZ_NUM_SECTORS, (int) rangeSectors);
            mem.putInt(range + VirtioBlkSpec.DWZ_FLAGS, rangeFlags);
            data = new GuestBuffer(range, VirtioBlkSpec.DWZ_SEGMENT_SIZE);
        }
        if (data != null) {
            descriptor(d, header, VirtioBlkSpec.HEADER_SIZE, VirtioSpec.VIRTQ_DESC_F_NEXT, d + 1);
            descriptor(d + 1, data.address(), data.length(),
                    VirtioSpec.VIRTQ_DESC_F_NEXT | (deviceWrites ? VirtioSpec.VIRTQ_DESC_F_WRITE : 0), d + 2);
            descriptor(d + 2, status, 1, VirtioSpec.VIRTQ_DESC_F_WRITE, 0);
        } else {
            descriptor(d, header, VirtioBlkSpec.HEADER_SIZE, VirtioSpec.VIRTQ_DESC_F_NEXT, d + 1);
            descriptor(d + 1, status, 1, VirtioSpec.VIRTQ_DESC_F_WRITE, 0);
        }
        s.done = false;
        s.waiter = Thread.currentThread();
        // the run-state check and the publish are one vCPU section: a `stop` that returned means
        // this request was either published before it (and the device drains it) or waits here
        long epoch = abandonEpoch;
        if (!vm.enterVcpu()) {
            release(s);
            return IoResult.ABORTED;
        }
        try {
            if (closed || epoch != abandonEpoch) {
                release(s);
                return IoResult.ABORTED;
            }
            avail.publish(s.head);
        } catch (IllegalStateException closedQueue) {
            release(s);
            return IoResult.ABORTED;
        } finally {
            vm.exitVcpu();
        }
        while (!s.done) {
            if (closed) {
                return IoResult.ABORTED; // the slot stays with the device: the driver is gone anyway
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(100));
        }
        int st = s.usedLen == 0 ? -1 : mem.getByte(status) & 0xff;
        release(s);
        return switch (st) {
            case VirtioBlkSpec.S_OK -> IoResult.OK;
            case VirtioBlkSpec.S_UNSUPP -> IoResult.UNSUPP;
            default -> IoResult.IOERR;
        };
    }

    private void descriptor(int index, long addr, int len, int flags, int next) {
        long at = descTable + (long) index * VirtioSpec.DESC_SIZE;
        mem.putLong(at + VirtioSpec.DESC_ADDR, addr);
        mem.putInt(at + VirtioSpec.DESC_LEN, len);
        mem.putShort(at + VirtioSpec.DESC_FLAGS, (short) flags);
        mem.putShort(at + VirtioSpec.DESC_NEXT, (short) next);
    }

    private Slot acquire() {
        freeLock.lock();
        try {
            while (freeTop == 0) {
                if (closed) {
                    return null;
                }
                slotFreed.awaitUninterruptibly();
            }
            return slots[free[--freeTop]];
        } finally {
            freeLock.unlock();
        }
    }

    private void release(Slot s) {
        freeLock.lock();
        try {
            free[freeTop++] = s.head / DESCS;
            slotFreed.signal();
        } finally {
            freeLock.unlock();
        }
    }

    /** Interrupt thread: one used-ring element. */
    @Override
    public void used(int id, int len) {
        if (id < 0 || id % DESCS != 0 || id / DESCS >= slots.length) {
            spuriousCompletions++;
            return;
        }
        Slot s = slots[id / DESCS];
        s.usedLen = len;
        s.done = true;
        batch[batchCount++] = id / DESCS;
    }

    /** Interrupt thread: end of a batch; wake every waiter completed in it. */
    @Override
    public void interrupt() {
        for (int i = 0; i < batchCount; i++) {
            Thread t = slots[batch[i]].waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
        batchCount = 0;
    }

    /** Completions for heads this driver never published (a device bug if non-zero). */
    public long spuriousCompletions() {
        return spuriousCompletions;
    }

    @Override
    public void abandonWaiting() {
        abandonEpoch++; // only the launcher's quit thread writes it
    }

    @Override
    public void close() {
        closed = true;
        freeLock.lock();
        try {
            slotFreed.signalAll();
        } finally {
            freeLock.unlock();
        }
        for (Slot s : slots) {
            Thread t = s.waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }
}
