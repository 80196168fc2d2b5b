package dev.strata.harness.guest;

import dev.strata.device.BlockDevice;
import dev.strata.device.GuestMemory;
import dev.strata.device.VmRunState;
import dev.strata.device.ide.IdeDisk;
import dev.strata.device.virtio.VirtioBlkDevice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The synthetic guest: its drivers (one per attached disk), its workloads and its verifiers. The
 * launcher and in-process tests assemble a machine, {@link #attach} each device, {@link #start}
 * workloads, and finally {@link #stop} to get the verification verdict.
 *
 * <p>Thread safety: any thread; disks, verifiers and workloads are guarded by {@code lock}.
 * Guest memory from 1 MiB up is the guest's heap (queues, request buffers, 1 MiB per verified
 * disk for baseline and final passes).
 */
public final class Guest implements AutoCloseable {

    private static final long HEAP_START = 1 << 20;
    private static final int VERIFY_BUFFER = 1 << 20;

    private final VmRunState vm;
    private final GuestAllocator alloc;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, GuestDisk> disks = new LinkedHashMap<>();
    private final Map<String, Verifier> verifiers = new LinkedHashMap<>();
    private final Map<String, GuestBuffer> verifyBuffers = new LinkedHashMap<>();
    private final List<Workload> workloads = new ArrayList<>();

    public Guest(VmRunState vm, GuestMemory memory) {
        this.vm = vm;
        this.alloc = new GuestAllocator(memory, HEAP_START);
    }

    public GuestAllocator allocator() {
        return alloc;
    }

    public VmRunState vm() {
        return vm;
    }

    /** Probes {@code device} with the matching driver (virtio-blk or ATA) and returns the guest's disk. */
    public GuestDisk attach(BlockDevice device) {
        GuestDisk d = switch (device) {
            case VirtioBlkDevice v -> new VirtioBlkDriver(v, alloc, vm);
            case IdeDisk ide -> new AtaDriver(ide, alloc, vm);
            default -> throw new IllegalArgumentException("the guest has no driver for " + device.model());
        };
        lock.lock();
        try {
            disks.put(d.driveId(), d);
        } finally {
            lock.unlock();
        }
        return d;
    }

    /** The disk on drive {@code driveId}, or null. */
    public GuestDisk disk(String driveId) {
        lock.lock();
        try {
            return disks.get(driveId);
        } finally {
            lock.unlock();
        }
    }

    public List<GuestDisk> disks() {
        lock.lock();
        try {
            return List.copyOf(disks.values());
        } finally {
            lock.unlock();
        }
    }

    /** The verifier of drive {@code driveId} (made on first verified workload), or null. */
    public Verifier verifier(String driveId) {
        lock.lock();
        try {
            return verifiers.get(driveId);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts a workload. {@code drive=} absent means the first attached disk. With verify=on the
     * window's original content is read first (the baseline), before any of its writes.
     *
     * @throws IllegalArgumentException naming the problem (unknown drive, window, verify limits)
     */
    public Workload start(WorkloadSpec spec) {
        GuestDisk disk;
        Verifier verifier = null;
        lock.lock();
        try {
            if (spec.drive() == null) {
                if (disks.isEmpty()) {
                    throw new IllegalArgumentException("guest workload: the guest has no disk");
                }
                disk = disks.values().iterator().next();
            } else {
                disk = disks.get(spec.drive());
                if (disk == null) {
                    throw new IllegalArgumentException("guest workload: no disk on drive '" + spec.drive() + "'");
                }
            }
            if (spec.verify()) {
                verifier = verifiers.get(disk.driveId());
                if (verifier == null) {
                    verifier = new Verifier(disk.driveId(), alloc.memory(), disk.capacity());
                    verifiers.put(disk.driveId(), verifier);
                    verifyBuffers.put(disk.driveId(), alloc.allocate(VERIFY_BUFFER, 4096));
                }
            }
        } finally {
            lock.unlock();
        }
        Workload w = new Workload(spec, disk, alloc, verifier, vm);
        if (verifier != null && spec.journal() != null) {
            verifier.journalTo(java.nio.file.Path.of(spec.journal()).toAbsolutePath());
        }
        if (verifier != null) {
            verifier.prepare(disk, w.windowStart(), w.windowLength(), verifyBuffer(disk.driveId()));
        }
        lock.lock();
        try {
            workloads.add(w);
        } finally {
            lock.unlock();
        }
        w.start();
        return w;
    }

    private GuestBuffer verifyBuffer(String drive) {
        lock.lock();
        try {
            return verifyBuffers.get(drive);
        } finally {
            lock.unlock();
        }
    }

    public List<Workload> workloads() {
        lock.lock();
        try {
            return List.copyOf(workloads);
        } finally {
            lock.unlock();
        }
    }

    /** Stops every workload and waits for them; false if one did not end in {@code timeout}. */
    public boolean stopWorkloads(Duration timeout) throws InterruptedException {
        List<Workload> all = workloads();
        all.forEach(Workload::stop);
        boolean ok = true;
        for (Workload w : all) {
            ok &= w.await(timeout);
        }
        return ok;
    }

    /**
     * The full verify pass: re-reads everything each verifier covers and checks every sector (run
     * after the workloads stopped). Reports include failures found by reads during the run.
     */
    public List<VerifyReport> verifyAll() {
        List<VerifyReport> reports = new ArrayList<>();
        for (GuestDisk d : disks()) {
            Verifier v = verifier(d.driveId());
            if (v != null) {
                reports.add(v.verify(d, verifyBuffer(d.driveId()), false));
            }
        }
        return reports;
    }

    /** Closes every driver (waiters get ABORTED). Devices are the machine's to close. */
    @Override
    public void close() {
        workloads().forEach(Workload::stop);
        disks().forEach(GuestDisk::close);
        lock.lock();
        try {
            verifiers.values().forEach(Verifier::closeJournal);
        } finally {
            lock.unlock();
        }
    }
}
