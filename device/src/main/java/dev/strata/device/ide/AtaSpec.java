package dev.strata.device.ide;

/**
 * ATA numbers (ATA/ATAPI-8 ACS, "ATA8-ACS", and the SFF-8038i bus-master DMA PRD format) that the
 * IDE disk model uses. Section numbers are ACS-3's.
 */
public final class AtaSpec {

    private AtaSpec() {
    }

    /** Logical sector size. */
    public static final int SECTOR_SIZE = 512;

    // commands (ACS-3 §7)
    /** §7.12 IDENTIFY DEVICE: 512 bytes of PIO data. */
    public static final int CMD_IDENTIFY = 0xEC;
    /** §7.21 READ DMA: 28-bit LBA, count 0 means 256. */
    public static final int CMD_READ_DMA = 0xC8;
    /** §7.22 READ DMA EXT: 48-bit LBA, count 0 means 65536. */
    public static final int CMD_READ_DMA_EXT = 0x25;
    /** §7.58 WRITE DMA: 28-bit LBA. */
    public static final int CMD_WRITE_DMA = 0xCA;
    /** §7.59 WRITE DMA EXT: 48-bit LBA. */
    public static final int CMD_WRITE_DMA_EXT = 0x35;
    /** §7.10 FLUSH CACHE. */
    public static final int CMD_FLUSH_CACHE = 0xE7;
    /** §7.11 FLUSH CACHE EXT. */
    public static final int CMD_FLUSH_CACHE_EXT = 0xEA;

    // status register bits
    /** Busy: the device owns the registers. */
    public static final int ST_BSY = 0x80;
    /** Device ready. */
    public static final int ST_DRDY = 0x40;
    /** Device fault. */
    public static final int ST_DF = 0x20;
    /** Seek complete (obsolete; QEMU still sets it). */
    public static final int ST_DSC = 0x10;
    /** Data request: PIO data is waiting. */
    public static final int ST_DRQ = 0x08;
    /** Error: see the error register. */
    public static final int ST_ERR = 0x01;

    // error register bits
    /** Command aborted (unsupported, bad parameters, or a failed transfer). */
    public static final int ERR_ABRT = 0x04;
    /** ID not found: the address is beyond the medium. */
    public static final int ERR_IDNF = 0x10;
    /** Uncorrectable data error. */
    public static final int ERR_UNC = 0x40;

    /** Device register bit 6: the address is an LBA (otherwise CHS, which this model refuses). */
    public static final int DEV_LBA = 0x40;

    /** Highest sector count + 1 addressable with 28-bit commands. */
    public static final long LBA28_LIMIT = 1L << 28;
    /** Highest sector count + 1 addressable with 48-bit commands. */
    public static final long LBA48_LIMIT = 1L << 48;

    // SFF-8038i physical region descriptor: le32 address, le16 byte count (0 = 64 KiB), le16 flags
    /** Size of one PRD entry. */
    public static final int PRD_SIZE = 8;
    /** PRD flags: end of table. */
    public static final int PRD_EOT = 0x8000;
    /** Most PRD entries in one table (a table may not cross a 64 KiB boundary). */
    public static final int PRD_MAX_ENTRIES = 8192;
}
