package dev.strata.device.ide;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 256 words of IDENTIFY DEVICE data (ACS-3 §7.12.7) for a hard disk, with the values QEMU's
 * {@code ide_identify} puts there (model {@code QEMU HARDDISK}, serial {@code QM0000N}, LBA48,
 * DMA, FLUSH CACHE (EXT), write cache).
 */
final class IdentifyData {

    private IdentifyData() {
    }

    static byte[] build(long sectors, String serial, boolean writeback) {
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        long cyl = Math.min(sectors / (16 * 63), 16383);
        word(b, 0, 0x0040);                         // fixed disk
        word(b, 1, (int) cyl);
        word(b, 3, 16);                             // heads
        word(b, 4, 512 * 63);                       // obsolete: bytes per track
        word(b, 5, 512);                            // obsolete: bytes per sector
        word(b, 6, 63);                             // sectors per track
        string(b, 10, 20, serial);
        word(b, 20, 3);                             // buffer type
        word(b, 21, 512);                           // cache size in sectors
        word(b, 22, 4);                             // ecc bytes
        string(b, 23, 8, "2.5+");                   // firmware revision, as QEMU
        string(b, 27, 40, "QEMU HARDDISK");         // model
        word(b, 47, 0x8000 | 16);                   // max sectors per READ/WRITE MULTIPLE
        word(b, 49, (1 << 11) | (1 << 9) | (1 << 8)); // IORDY, LBA, DMA
        word(b, 51, 0x200);                         // PIO transfer cycle
        word(b, 52, 0x200);                         // DMA transfer cycle
        word(b, 53, 1 | (1 << 1) | (1 << 2));       // words 54-58, 64-70 and 88 are valid
        word(b, 54, (int) cyl);
        word(b, 55, 16);
        word(b, 56, 63);
        long chs = cyl * 16 * 63;
        word(b, 57, (int) (chs & 0xffff));
        word(b, 58, (int) (chs >>> 16));
        long lba28 = Math.min(sectors, AtaSpec.LBA28_LIMIT - 1);
        word(b, 60, (int) (lba28 & 0xffff));
        word(b, 61, (int) (lba28 >>> 16));
        word(b, 63, 0x07);                          // multiword DMA modes 0-2 supported
        word(b, 64, 0x03);                          // PIO modes 3-4
        word(b, 65, 120);
        word(b, 66, 120);
        word(b, 67, 120);
        word(b, 68, 120);
        word(b, 80, 0xf0);                          // ATA-4 .. ATA-7
        word(b, 81, 0x16);
        word(b, 82, (1 << 14) | (1 << 5) | 1);      // write cache and SMART supported
        word(b, 83, (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10)); // FLUSH CACHE EXT, FLUSH CACHE, LBA48
        word(b, 84, 1 << 14);
        word(b, 85, (1 << 14) | (writeback ? 1 << 5 : 0) | 1);      // write cache enabled
        word(b, 86, (1 << 13) | (1 << 12) | (1 << 10));
        word(b, 87, 1 << 14);
        word(b, 88, 0x3f | (1 << 13));              // UDMA modes 0-5, mode 5 selected
        word(b, 93, 1 | (1 << 14) | 0x2000);        // hardware reset result
        for (int i = 0; i < 4; i++) {
            word(b, 100 + i, (int) ((sectors >>> (16 * i)) & 0xffff)); // LBA48 capacity
        }
        return b.array();
    }

    private static void word(ByteBuffer b, int index, int value) {
        b.putShort(index * 2, (short) value);
    }

    /** ATA strings: space padded, two characters per word, first character in the high byte. */
    private static void string(ByteBuffer b, int firstWord, int length, String s) {
        for (int i = 0; i < length; i++) {
            char c = i < s.length() ? s.charAt(i) : ' ';
            b.put(firstWord * 2 + (i ^ 1), (byte) c);
        }
    }
}
