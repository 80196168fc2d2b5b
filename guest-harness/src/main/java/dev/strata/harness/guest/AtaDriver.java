package dev.strata.harness.guest;

import dev.strata.device.GuestMemory;
import dev.strata.device.VmRunState;
import dev.strata.device.ide.AtaCommand;
import dev.strata.device.ide.AtaSpec;
import dev.strata.device.ide.IdeDisk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The guest's ATA driver for an {@link IdeDisk}: IDENTIFY on first need, then READ/WRITE DMA
 * (28-bit commands where they reach, EXT beyond) through a PRD table in guest memory, and FLUSH
 * CACHE EXT. One command at a time, as the channel allows: concurrent callers queue on the channel
 * lock, so {@link #maxInFlight()} is 1.
 *
 * <p>Attaching issues no command: a guest's driver probes its disks when the guest runs, so a
 * machine started paused ({@code -S}) assembles and serves its monitors before the first
 * command. IDENTIFY runs the first time the disk's size, model or serial is asked for (a
 * workload or verifier starting, which happens only once the guest runs); it waits for the
 * vCPUs like every other command.
 *
 * <p>Thread safety: any guest thread. {@code identity} is guarded by {@code identifyLock}.
 * {@code commandLock} is held for a whole command (PRD table set-up,
 * issue, wait): it must not be released while the disk is still reading the PRD table, which is
 * why it is not the lock the interrupt condition waits on. {@code irqLock} guards {@code irqPending}.
 */
public final class AtaDriver implements GuestDisk {

    private static final int MAX_SECTORS_EXT = 65536;
    private static final int MAX_SECTORS_28 = 256;
    private static final int PRD_ENTRIES = 64;
    private static final int PRD_CHUNK = 65536;

    private final IdeDisk disk;
    private final GuestMemory mem;
    private final VmRunState vm;
    /** Bumped by {@link #abandonWaiting}: a request that saw another value before waiting gives up. */
    private volatile long abandonEpoch;
    private final long prdTable;
    private final ReentrantLock commandLock = new ReentrantLock();
    private final ReentrantLock irqLock = new ReentrantLock();
    private final Condition irq = irqLock.newCondition();
    private boolean irqPending;
    private final ReentrantLock identifyLock = new ReentrantLock();
    private Identity identity;
    private volatile boolean closed;

    /** What IDENTIFY DEVICE told the driver. */
    private record Identity(long sectors, String model, String serial) {
    }

    /** Connects to {@code disk}'s interrupt line; issues nothing until the guest needs the disk. */
    public AtaDriver(IdeDisk disk, GuestAllocator alloc, VmRunState vm) {
        this.disk = disk;
        this.mem = alloc.memory();
        this.vm = vm;
        this.prdTable = alloc.allocate(PRD_ENTRIES * AtaSpec.PRD_SIZE, 65536).address();
        disk.connect(this::raise);
    }

    /** IDENTIFY DEVICE, once; waits for the guest to run. */
    private Identity identity() {
        identifyLock.lock();
        try {
            if (identity == null) {
                byte[] id = new byte[AtaSpec.SECTOR_SIZE];
                if (command(AtaCommand.simple(AtaSpec.CMD_IDENTIFY)) != IoResult.OK || !disk.readPio(id)) {
                    throw new IllegalStateException(disk.driveId() + ": IDENTIFY DEVICE failed");
                }
                ByteBuffer w = ByteBuffer.wrap(id).order(ByteOrder.LITTLE_ENDIAN);
                long lba48 = 0;
                for (int i = 3; i >= 0; i--) {
                    lba48 = (lba48 << 16) | (w.getShort((100 + i) * 2) & 0xffff);
                }
                identity = new Identity(lba48, ataString(id, 27, 40), ataString(id, 10, 20));
            }
            return identity;
        } finally {
            identifyLock.unlock();
        }
    }

    private static String ataString(byte[] id, int word, int len) {
        byte[] s = new byte[len];
        for (int i = 0; i < len; i++) {
            s[i] = id[word * 2 + (i ^ 1)];
        }
        return new String(s, StandardCharsets.US_ASCII).trim();
    }

    private void raise() {
        irqLock.lock();
        try {
            irqPending = true;
            irq.signalAll();
        } finally {
            irqLock.unlock();
        }
    }

    /** The model string from IDENTIFY (QEMU's {@code QEMU HARDDISK}). */
    public String model() {
        return identity().model();
    }

    /** The serial number from IDENTIFY. */
    public String serial() {
        return identity().serial();
    }

    @Override
    public String driveId() {
        return disk.driveId();
    }

    @Override
    public long capacity() {
        return identity().sectors() * AtaSpec.SECTOR_SIZE;
    }

    @Override
    public int maxInFlight() {
        return 1;
    }

    @Override
    public IoResult read(long offset, GuestBuffer buf) {
        return dma(false, offset, buf);
    }

    @Override
    public IoResult write(long offset, GuestBuffer buf) {
        return dma(true, offset, buf);
    }

    @Override
    public IoResult flush() {
        return command(AtaCommand.simple(AtaSpec.CMD_FLUSH_CACHE_EXT));
    }

    private IoResult dma(boolean write, long offset, GuestBuffer buf) {
        if (offset % AtaSpec.SECTOR_SIZE != 0 || buf.length() % AtaSpec.SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("ATA transfers are whole sectors");
        }
        long lba = offset / AtaSpec.SECTOR_SIZE;
        long total = buf.length() / AtaSpec.SECTOR_SIZE;
        long done = 0;
        while (done < total) {
            long at = lba + done;
            boolean small = at + MAX_SECTORS_28 < AtaSpec.LBA28_LIMIT;
            int n = (int) Math.min(total - done, Math.min(small ? MAX_SECTORS_28 : MAX_SECTORS_EXT,
                    (long) PRD_ENTRIES * PRD_CHUNK / AtaSpec.SECTOR_SIZE));
            int cmd = write ? (small ? AtaSpec.CMD_WRITE_DMA : AtaSpec.CMD_WRITE_DMA_EXT)
                    : (small ? AtaSpec.CMD_READ_DMA : AtaSpec.CMD_READ_DMA_EXT);
            GuestBuffer part = buf.slice((int) (done * AtaSpec.SECTOR_SIZE), n * AtaSpec.SECTOR_SIZE);
            IoResult r = transfer(new AtaCommand(cmd, at, n == (small ? MAX_SECTORS_28 : MAX_SECTORS_EXT) ? 0 : n,
                    AtaSpec.DEV_LBA, prdTable), part);
            if (r != IoResult.OK) {
                return r;
            }
            done += n;
        }
        return IoResult.OK;
    }

    private IoResult transfer(AtaCommand cmd, GuestBuffer part) {
        commandLock.lock();
        try {
            int entries = 0;
            for (int off = 0; off < part.length(); off += PRD_CHUNK, entries++) {
                int len = Math.min(PRD_CHUNK, part.length() - off);
                long e = prdTable + (long) entries * AtaSpec.PRD_SIZE;
                mem.putInt(e, (int) (part.address() + off));
                mem.putShort(e + 4, (short) (len == PRD_CHUNK ? 0 : len));
                boolean last = off + len >= part.length();
                mem.putShort(e + 6, (short) (last ? AtaSpec.PRD_EOT : 0));
            }
            return command(cmd);
        } finally {
            commandLock.unlock();
        }
    }

    /** Issues one command and waits for its interrupt (holding {@code commandLock} throughout). */
    private IoResult command(AtaCommand cmd) {
        commandLock.lock();
        irqLock.lock();
        try {
            irqPending = false;
            // the run-state check and the command register write are one vCPU section, so a
            // `stop` that returned means the command was issued before it (and is drained) or waits
            long epoch = abandonEpoch;
            if (!vm.enterVcpu()) {
                return IoResult.ABORTED;
            }
            boolean issued;
            try {
                if (closed || epoch != abandonEpoch) {
                    return IoResult.ABORTED;
                }
                issued = disk.issue(cmd);
            } finally {
                vm.exitVcpu();
            }
            if (!issued) {
                return IoResult.IOERR;
            }
            while (!irqPending) {
                if (closed) {
                    return IoResult.ABORTED;
                }
                irq.await(100, TimeUnit.MILLISECONDS);
            }
            // the driver only issues commands the disk implements, so any ERR is an I/O failure
            return (disk.status() & AtaSpec.ST_ERR) == 0 ? IoResult.OK : IoResult.IOERR;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return IoResult.ABORTED;
        } finally {
            irqLock.unlock();
            commandLock.unlock();
        }
    }

    @Override
    public void abandonWaiting() {
        abandonEpoch++; // only the launcher's quit thread writes it
    }

    @Override
    public void close() {
        closed = true;
        raise();
    }
}
