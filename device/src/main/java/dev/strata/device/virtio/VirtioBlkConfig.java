package dev.strata.device.virtio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The virtio-blk configuration space (§5.2.4) and the features the device offers: what a driver
 * reads at probe time. Defaults follow QEMU 7.2's virtio-blk-pci: 512-byte blocks,
 * {@code seg_max = queue size - 2}, one queue, discard and write-zeroes with one range per request
 * and {@code BDRV_REQUEST_MAX_SECTORS} (4194303) sectors per range.
 *
 * @param capacitySectors          disk size in 512-byte sectors
 * @param segMax                   most data segments per request
 * @param blkSize                  logical block size in bytes (a power of two, >= 512)
 * @param numQueues                number of request queues
 * @param writeback                the guest-visible write cache mode (1 writeback, 0 writethrough)
 * @param maxDiscardSectors        most sectors one discard range may cover
 * @param maxDiscardSeg            most ranges per discard request
 * @param maxWriteZeroesSectors    most sectors one write-zeroes range may cover
 * @param maxWriteZeroesSeg        most ranges per write-zeroes request
 * @param writeZeroesMayUnmap      whether write-zeroes honours the unmap flag
 * @param readOnly                 VIRTIO_BLK_F_RO: writes fail with IOERR
 */
public record VirtioBlkConfig(long capacitySectors, int segMax, int blkSize, int numQueues, boolean writeback,
                              int maxDiscardSectors, int maxDiscardSeg, int maxWriteZeroesSectors,
                              int maxWriteZeroesSeg, boolean writeZeroesMayUnmap, boolean readOnly) {

    /** QEMU's {@code BDRV_REQUEST_MAX_SECTORS}: the largest request the block layer takes, in sectors. */
    public static final int REQUEST_MAX_SECTORS = Integer.MAX_VALUE >> VirtioBlkSpec.SECTOR_SHIFT;

    public VirtioBlkConfig {
        if (blkSize < VirtioBlkSpec.SECTOR_SIZE || Integer.bitCount(blkSize) != 1) {
            throw new IllegalArgumentException("blk_size must be a power of two >= 512, not " + blkSize);
        }
        if (segMax < 1 || maxDiscardSeg < 1 || maxWriteZeroesSeg < 1 || numQueues < 1) {
            throw new IllegalArgumentException("seg_max, num_queues and the range limits must be >= 1");
        }
    }

    /** QEMU's defaults for a disk of {@code capacityBytes} on a queue of {@code queueSize}. */
    public static VirtioBlkConfig defaults(long capacityBytes, int queueSize, boolean writeback, boolean readOnly) {
        return new VirtioBlkConfig(capacityBytes >>> VirtioBlkSpec.SECTOR_SHIFT, queueSize - 2, VirtioBlkSpec.SECTOR_SIZE,
                1, writeback, REQUEST_MAX_SECTORS, 1, REQUEST_MAX_SECTORS, 1, true, readOnly);
    }

    /** The feature bits offered (§5.2.3 plus VIRTIO_F_VERSION_1). */
    public long features() {
        long f = VirtioSpec.VIRTIO_F_VERSION_1 | VirtioBlkSpec.F_SEG_MAX | VirtioBlkSpec.F_BLK_SIZE
                | VirtioBlkSpec.F_FLUSH | VirtioBlkSpec.F_TOPOLOGY | VirtioBlkSpec.F_DISCARD
                | VirtioBlkSpec.F_WRITE_ZEROES;
        if (numQueues > 1) {
            f |= VirtioBlkSpec.F_MQ;
        }
        if (readOnly) {
            f |= VirtioBlkSpec.F_RO;
        }
        return f;
    }

    /** The configuration structure as the driver reads it (little-endian, {@link VirtioBlkSpec#CFG_SIZE} bytes). */
    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(VirtioBlkSpec.CFG_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(VirtioBlkSpec.CFG_CAPACITY, capacitySectors);
        b.putInt(VirtioBlkSpec.CFG_SEG_MAX, segMax);
        b.putInt(VirtioBlkSpec.CFG_BLK_SIZE, blkSize);
        b.put(VirtioBlkSpec.CFG_PHYSICAL_BLOCK_EXP, (byte) 0);
        b.putShort(VirtioBlkSpec.CFG_MIN_IO_SIZE, (short) 1);
        b.putInt(VirtioBlkSpec.CFG_OPT_IO_SIZE, 0);
        b.put(VirtioBlkSpec.CFG_WRITEBACK, (byte) (writeback ? 1 : 0));
        b.putShort(VirtioBlkSpec.CFG_NUM_QUEUES, (short) numQueues);
        b.putInt(VirtioBlkSpec.CFG_MAX_DISCARD_SECTORS, maxDiscardSectors);
        b.putInt(VirtioBlkSpec.CFG_MAX_DISCARD_SEG, maxDiscardSeg);
        b.putInt(VirtioBlkSpec.CFG_DISCARD_SECTOR_ALIGNMENT, blkSize >> VirtioBlkSpec.SECTOR_SHIFT);
        b.putInt(VirtioBlkSpec.CFG_MAX_WRITE_ZEROES_SECTORS, maxWriteZeroesSectors);
        b.putInt(VirtioBlkSpec.CFG_MAX_WRITE_ZEROES_SEG, maxWriteZeroesSeg);
        b.put(VirtioBlkSpec.CFG_WRITE_ZEROES_MAY_UNMAP, (byte) (writeZeroesMayUnmap ? 1 : 0));
        return b.array();
    }
}
