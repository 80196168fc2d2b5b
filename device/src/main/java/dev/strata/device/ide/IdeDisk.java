package dev.strata.device.ide;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.device.AbstractBlockDevice;
import dev.strata.device.DeviceEventListener;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.IoAccounting;
import dev.strata.device.VmRunState;
import dev.strata.device.ring.HeadWorkers;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An IDE/ATA hard disk ({@code ide-hd}, or what {@code -drive if=ide} makes) with bus-master DMA:
 * IDENTIFY DEVICE (PIO data), READ/WRITE DMA and their EXT forms, FLUSH CACHE (EXT). One command
 * at a time, as on a real channel: {@link #issue} is refused while the disk is busy. Commands run on
 * the disk's virtual thread; completion sets the status/error registers and raises the interrupt.
 * Unsupported commands and CHS addressing abort (ABRT); addresses beyond the disk give IDNF; block
 * layer failures go through rerror/werror and abort when reported.
 *
 * <p>Thread safety: {@link #issue}, {@link #status}, {@link #error}, {@link #readPio} from any guest
 * thread; registers are guarded by {@code regs}. The command's inputs are handed to the worker by
 * the worker pool's volatile hand-off.
 */
public final class IdeDisk extends AbstractBlockDevice {

    private static final System.Logger LOG = System.getLogger(IdeDisk.class.getName());

    private final GuestMemory memory;
    private final HeadWorkers worker;
    private final ByteBuffer view;
    private final ReentrantLock regs = new ReentrantLock();
    private final byte[] pio = new byte[AtaSpec.SECTOR_SIZE];
    private volatile IdeInterrupt irq = () -> { };
    private AtaCommand pending;
    private int status = AtaSpec.ST_DRDY | AtaSpec.ST_DSC;
    private int error;
    private boolean pioReady;
    /** The finished command's registers, published by {@link #complete} once the worker is free. */
    private int doneStatus;
    private int doneError;

    public IdeDisk(DeviceOptions options, String qomPath, VmRunState vm, GuestMemory memory,
                   List<DeviceEventListener> listeners) {
        super(options, qomPath, vm, listeners);
        this.memory = memory;
        this.view = memory.view();
        this.worker = new HeadWorkers(driveId(), 1, h -> run(), (h, len) -> complete());
        options.backend().setAttachedTo(attachedTo());
    }

    /** Connects the channel's interrupt line (the guest driver's handler). */
    public void connect(IdeInterrupt line) {
        this.irq = line;
    }

    /** Disk size in sectors (IDENTIFY words 100-103). */
    public long sectors() {
        return options.backend().size() / AtaSpec.SECTOR_SIZE;
    }

    /**
     * Writes the command register: starts {@code cmd}.
     *
     * @return false when the disk is busy with another command (the write is ignored, as hardware does)
     */
    public boolean issue(AtaCommand cmd) {
        regs.lock();
        try {
            if ((status & AtaSpec.ST_BSY) != 0) {
                return false;
            }
            status = AtaSpec.ST_BSY;
            error = 0;
            pioReady = false;
            pending = cmd;
            inflight.begin(); // ends in complete(), whichever way the command finishes
        } finally {
            regs.unlock();
        }
        if (!worker.dispatch(0)) {
            finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_ABRT);
            complete();
            return false;
        }
        return true;
    }

    /** The status register. */
    public int status() {
        regs.lock();
        try {
            return status;
        } finally {
            regs.unlock();
        }
    }

    /** The error register (valid when status has ERR). */
    public int error() {
        regs.lock();
        try {
            return error;
        } finally {
            regs.unlock();
        }
    }

    /**
     * Reads the 512 bytes of PIO data a command left (IDENTIFY) and clears DRQ.
     *
     * @return false if no data was waiting
     */
    public boolean readPio(byte[] dst) {
        regs.lock();
        try {
            if (!pioReady) {
                return false;
            }
            System.arraycopy(pio, 0, dst, 0, Math.min(dst.length, pio.length));
            pioReady = false;
            status &= ~AtaSpec.ST_DRQ;
            return true;
        } finally {
            regs.unlock();
        }
    }

    /** Worker: runs the pending command and leaves the result in the registers. */
    private int run() {
        AtaCommand cmd;
        regs.lock();
        try {
            cmd = pending;
        } finally {
            regs.unlock();
        }
        try {
            switch (cmd.command()) {
                case AtaSpec.CMD_IDENTIFY -> identify();
                case AtaSpec.CMD_READ_DMA, AtaSpec.CMD_READ_DMA_EXT -> transfer(cmd, false);
                case AtaSpec.CMD_WRITE_DMA, AtaSpec.CMD_WRITE_DMA_EXT -> transfer(cmd, true);
                case AtaSpec.CMD_FLUSH_CACHE, AtaSpec.CMD_FLUSH_CACHE_EXT -> flush();
                default -> finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_ABRT);
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, driveId() + ": ATA command 0x" + Integer.toHexString(cmd.command())
                    + " failed unexpectedly", e);
            finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_ABRT);
        }
        return 0;
    }

    private void identify() {
        byte[] data = IdentifyData.build(sectors(), options.serial() == null ? "" : options.serial(),
                options.backend().cacheMode().writeback());
        regs.lock();
        try {
            System.arraycopy(data, 0, pio, 0, pio.length);
        } finally {
            regs.unlock();
        }
        finish(AtaSpec.ST_DRDY | AtaSpec.ST_DSC | AtaSpec.ST_DRQ, 0);
    }

    private void transfer(AtaCommand cmd, boolean write) {
        long sectors = cmd.sectors();
        long limit = cmd.isExt() ? AtaSpec.LBA48_LIMIT : AtaSpec.LBA28_LIMIT;
        IoAccounting.Type acct = write ? IoAccounting.Type.WRITE : IoAccounting.Type.READ;
        if ((cmd.device() & AtaSpec.DEV_LBA) == 0) {
            finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_ABRT); // CHS addressing is not modelled
            return;
        }
        if (cmd.lba() < 0 || cmd.lba() + sectors > Math.min(limit, sectors())) {
            accounting.invalid(acct);
            finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_IDNF);
            return;
        }
        if (write && options.backend().root().isReadOnly()) {
            accounting.invalid(acct);
            finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_ABRT);
            return;
        }
        long bytes = sectors * AtaSpec.SECTOR_SIZE;
        if (!prdCovers(cmd.prdTable(), bytes)) {
            finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_ABRT);
            return;
        }
        runWithPolicy(write ? IoOperation.WRITE : IoOperation.READ, acct, bytes, () -> {
            long offset = cmd.lba() * AtaSpec.SECTOR_SIZE;
            long left = bytes;
            for (long e = cmd.prdTable(); left > 0; e += AtaSpec.PRD_SIZE) {
                long addr = memory.getInt(e) & 0xfffffffeL;
                int n = (int) Math.min(left, prdLength(e));
                ByteBuffer buf = memory.window(view, addr, n);
                if (write) {
                    options.backend().write(offset, buf);
                } else {
                    options.backend().read(offset, buf);
                }
                offset += n;
                left -= n;
            }
            if (write) {
                accounting.wroteUpTo(offset);
            }
        });
    }

    private void flush() {
        runWithPolicy(IoOperation.WRITE, IoAccounting.Type.FLUSH, 0, () -> options.backend().flush());
    }

    /** The rerror/werror loop shared by every command that reaches the block layer. */
    private void runWithPolicy(IoOperation op, IoAccounting.Type acct, long bytes, Runnable io) {
        long start = System.nanoTime();
        while (true) {
            try {
                io.run();
                accounting.done(acct, bytes, start);
                finish(AtaSpec.ST_DRDY | AtaSpec.ST_DSC, 0);
                return;
            } catch (BlockException e) {
                ErrorAction action = errors.handle(op, e);
                if (action == ErrorAction.IGNORE) {
                    accounting.done(acct, bytes, start);
                    finish(AtaSpec.ST_DRDY | AtaSpec.ST_DSC, 0);
                    return;
                }
                if (action == ErrorAction.REPORT || !errors.awaitRetry()) {
                    accounting.failed(acct, start);
                    finish(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, AtaSpec.ERR_ABRT);
                    return;
                }
            }
        }
    }

    /** True if the PRD table is in guest memory and describes at least {@code bytes} of in-memory buffers. */
    private boolean prdCovers(long table, long bytes) {
        long sum = 0;
        for (int i = 0; i < AtaSpec.PRD_MAX_ENTRIES && sum < bytes; i++) {
            long e = table + (long) i * AtaSpec.PRD_SIZE;
            if (!memory.contains(e, AtaSpec.PRD_SIZE)) {
                return false;
            }
            long addr = memory.getInt(e) & 0xfffffffeL;
            long len = prdLength(e);
            if (!memory.contains(addr, len)) {
                return false;
            }
            sum += len;
            if ((memory.getShort(e + 6) & AtaSpec.PRD_EOT) != 0) {
                break;
            }
        }
        return sum >= bytes;
    }

    private long prdLength(long entry) {
        int n = memory.getShort(entry + 4) & 0xffff;
        return n == 0 ? 65536 : n;
    }

    /** Worker: remembers the command's result; it becomes visible in {@link #complete}. */
    private void finish(int newStatus, int newError) {
        doneStatus = newStatus;
        doneError = newError;
    }

    /**
     * Publishes the result (clearing BSY) and raises the interrupt. Runs after the worker is free,
     * so a guest that issues its next command as soon as BSY clears is never refused.
     */
    private void complete() {
        regs.lock();
        try {
            status = doneStatus;
            error = doneError;
            pioReady = (doneStatus & AtaSpec.ST_DRQ) != 0;
        } finally {
            regs.unlock();
        }
        inflight.end();
        irq.raise();
    }

    @Override
    public String attachedTo() {
        return options.id() != null ? options.id() : qomPath;
    }

    @Override
    public String model() {
        return "ide-hd";
    }

    @Override
    public void close() {
        worker.close();
        options.backend().setAttachedTo(null);
    }
}
