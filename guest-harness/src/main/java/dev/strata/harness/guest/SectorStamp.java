package dev.strata.harness.guest;

import dev.strata.device.GuestMemory;

/**
 * The stamp the verifying guest puts in every 512-byte sector it writes:
 *
 * <pre>
 *   0  u32 magic "STRA"     4  u32 run tag (random per verifier: stamps of other runs are not ours)
 *   8  u64 lba              16 u64 write sequence number
 *  24  u64 checksum of (tag, lba, seq, payload)
 *  32  480 bytes payload, a pseudo-random stream seeded by (tag, lba, seq)
 * </pre>
 *
 * A sector whose checksum does not match its bytes was torn; a stamp naming another LBA was
 * misplaced. Public so a judge in another process (crash torture) can read stamps a guest left on disk.
 * Stateless; any thread.
 */
public final class SectorStamp {

    public static final int SECTOR = 512;
    static final int MAGIC = 0x41525453;
    private static final int PAYLOAD = 32;
    private static final int WORDS = (SECTOR - PAYLOAD) / 8;

    private SectorStamp() {
    }

    /** What a sector's header says (valid only when {@code ours}). */
    public record Header(boolean ours, boolean intact, long lba, long seq) {
    }

    static void stamp(GuestMemory mem, long addr, int tag, long lba, long seq) {
        long x = seed(tag, lba, seq);
        long sum = x;
        for (int i = 0; i < WORDS; i++) {
            x = next(x);
            mem.putLong(addr + PAYLOAD + 8L * i, x);
            sum = fold(sum, x);
        }
        mem.putInt(addr, MAGIC);
        mem.putInt(addr + 4, tag);
        mem.putLong(addr + 8, lba);
        mem.putLong(addr + 16, seq);
        mem.putLong(addr + 24, sum);
    }

    public static Header read(GuestMemory mem, long addr, int tag) {
        if (mem.getInt(addr) != MAGIC || mem.getInt(addr + 4) != tag) {
            return new Header(false, false, -1, -1);
        }
        long lba = mem.getLong(addr + 8);
        long seq = mem.getLong(addr + 16);
        long sum = seed(tag, lba, seq);
        for (int i = 0; i < WORDS; i++) {
            sum = fold(sum, mem.getLong(addr + PAYLOAD + 8L * i));
        }
        return new Header(true, sum == mem.getLong(addr + 24), lba, seq);
    }

    /** A 64-bit hash of a whole sector (for content the guest did not write). */
    public static long hash(GuestMemory mem, long addr) {
        long h = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < SECTOR / 8; i++) {
            h = fold(h, mem.getLong(addr + 8L * i));
        }
        return h;
    }

    private static long seed(int tag, long lba, long seq) {
        return mix(mix(tag * 0x9E3779B97F4A7C15L ^ lba) ^ seq);
    }

    private static long next(long x) {
        return x * 6364136223846793005L + 1442695040888963407L;
    }

    private static long fold(long sum, long v) {
        return mix(sum ^ v) + 0x632BE59BD9B4E019L;
    }

    /** SplitMix64's finaliser: a cheap full-avalanche mix. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
