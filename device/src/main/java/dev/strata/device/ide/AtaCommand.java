package dev.strata.device.ide;

/**
 * The task file a guest writes before the command register: the command, the address and count,
 * and for DMA commands the guest-physical address of the PRD table (the bus-master register).
 *
 * @param command    the ATA command code ({@link AtaSpec#CMD_READ_DMA} ...)
 * @param lba        first sector
 * @param count      sector count register value (0 means 256, or 65536 for EXT commands)
 * @param device     device register (bit 6 {@link AtaSpec#DEV_LBA} must be set for LBA addressing)
 * @param prdTable   guest address of the PRD table for DMA commands (ignored otherwise)
 */
public record AtaCommand(int command, long lba, int count, int device, long prdTable) {

    /** A DMA read or write of {@code sectors} sectors at {@code lba}, LBA addressing. */
    public static AtaCommand dma(int command, long lba, int sectors, long prdTable) {
        return new AtaCommand(command, lba, sectors, AtaSpec.DEV_LBA, prdTable);
    }

    /** A command without data transfer or address (IDENTIFY, FLUSH CACHE). */
    public static AtaCommand simple(int command) {
        return new AtaCommand(command, 0, 0, AtaSpec.DEV_LBA, 0);
    }

    boolean isExt() {
        return command == AtaSpec.CMD_READ_DMA_EXT || command == AtaSpec.CMD_WRITE_DMA_EXT;
    }

    /** Sectors to transfer, with the "0 means the maximum" rule applied. */
    long sectors() {
        if (count != 0) {
            return count & (isExt() ? 0xffff : 0xff);
        }
        return isExt() ? 65536 : 256;
    }
}
