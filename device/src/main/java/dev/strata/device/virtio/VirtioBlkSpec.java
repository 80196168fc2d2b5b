package dev.strata.device.virtio;

/**
 * virtio-blk numbers from "Virtual I/O Device (VIRTIO) Version 1.1", OASIS, section 5.2 (Block
 * Device). Every validation in {@link BlkRequestParser} cites the rule it enforces.
 */
public final class VirtioBlkSpec {

    private VirtioBlkSpec() {
    }

    /** §5.2.1 device ID of a block device. */
    public static final int DEVICE_ID = 2;

    /** §5.2.6: {@code sector} always counts 512-byte units, whatever {@code blk_size} says. */
    public static final int SECTOR_SIZE = 512;
    /** log2 of {@link #SECTOR_SIZE}. */
    public static final int SECTOR_SHIFT = 9;

    // §5.2.3 feature bits
    /** Maximum size of any single segment is in {@code size_max}. */
    public static final long F_SIZE_MAX = 1L << 1;
    /** Maximum number of segments in a request is in {@code seg_max}. */
    public static final long F_SEG_MAX = 1L << 2;
    /** Device is read-only. */
    public static final long F_RO = 1L << 5;
    /** Block size of disk is in {@code blk_size}. */
    public static final long F_BLK_SIZE = 1L << 6;
    /** Cache flush command support. */
    public static final long F_FLUSH = 1L << 9;
    /** Device exports information on optimal I/O alignment. */
    public static final long F_TOPOLOGY = 1L << 10;
    /** Device supports multiqueue; {@code num_queues} is valid. */
    public static final long F_MQ = 1L << 12;
    /** Device can support discard. */
    public static final long F_DISCARD = 1L << 13;
    /** Device can support write zeroes. */
    public static final long F_WRITE_ZEROES = 1L << 14;

    // §5.2.6 request types
    /** Read: data device-writable. */
    public static final int T_IN = 0;
    /** Write: data device-readable. */
    public static final int T_OUT = 1;
    /** Flush the volatile write cache. */
    public static final int T_FLUSH = 4;
    /** Read the device ID string (20 bytes) into a device-writable buffer. */
    public static final int T_GET_ID = 8;
    /** Discard ranges given as {@code virtio_blk_discard_write_zeroes} entries. */
    public static final int T_DISCARD = 11;
    /** Write zeroes over ranges given as {@code virtio_blk_discard_write_zeroes} entries. */
    public static final int T_WRITE_ZEROES = 13;

    // §5.2.6 status values
    /** Success. */
    public static final int S_OK = 0;
    /** Device or driver error. */
    public static final int S_IOERR = 1;
    /** Request unsupported by device. */
    public static final int S_UNSUPP = 2;

    /** §5.2.6 {@code struct virtio_blk_req} header: le32 type, le32 reserved, le64 sector. */
    public static final int HEADER_SIZE = 16;
    /** Offset of {@code type} in the header. */
    public static final int HEADER_TYPE = 0;
    /** Offset of {@code sector} in the header. */
    public static final int HEADER_SECTOR = 8;

    /** §5.2.6 VIRTIO_BLK_ID_BYTES: length of the GET_ID string. */
    public static final int ID_BYTES = 20;

    /** §5.2.6 {@code struct virtio_blk_discard_write_zeroes}: le64 sector, le32 num_sectors, le32 flags. */
    public static final int DWZ_SEGMENT_SIZE = 16;
    /** Offset of {@code num_sectors} in a discard/write-zeroes segment. */
    public static final int DWZ_NUM_SECTORS = 8;
    /** Offset of {@code flags} in a discard/write-zeroes segment. */
    public static final int DWZ_FLAGS = 12;
    /** §5.2.6 VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP: the device may deallocate the zeroed range. */
    public static final int DWZ_FLAG_UNMAP = 1;

    // §5.2.4 struct virtio_blk_config offsets (little-endian)
    /** le64 capacity in 512-byte sectors. */
    public static final int CFG_CAPACITY = 0;
    /** le32 size_max. */
    public static final int CFG_SIZE_MAX = 8;
    /** le32 seg_max. */
    public static final int CFG_SEG_MAX = 12;
    /** le32 blk_size. */
    public static final int CFG_BLK_SIZE = 20;
    /** u8 physical_block_exp (topology). */
    public static final int CFG_PHYSICAL_BLOCK_EXP = 24;
    /** le16 min_io_size (topology, in blocks). */
    public static final int CFG_MIN_IO_SIZE = 26;
    /** le32 opt_io_size (topology, in blocks). */
    public static final int CFG_OPT_IO_SIZE = 28;
    /** u8 writeback. */
    public static final int CFG_WRITEBACK = 32;
    /** le16 num_queues. */
    public static final int CFG_NUM_QUEUES = 34;
    /** le32 max_discard_sectors. */
    public static final int CFG_MAX_DISCARD_SECTORS = 36;
    /** le32 max_discard_seg. */
    public static final int CFG_MAX_DISCARD_SEG = 40;
    /** le32 discard_sector_alignment. */
    public static final int CFG_DISCARD_SECTOR_ALIGNMENT = 44;
    /** le32 max_write_zeroes_sectors. */
    public static final int CFG_MAX_WRITE_ZEROES_SECTORS = 48;
    /** le32 max_write_zeroes_seg. */
    public static final int CFG_MAX_WRITE_ZEROES_SEG = 52;
    /** u8 write_zeroes_may_unmap. */
    public static final int CFG_WRITE_ZEROES_MAY_UNMAP = 56;
    /** Size of the configuration structure this device exposes. */
    public static final int CFG_SIZE = 60;
}
