package dev.strata.harness.torture;

import dev.strata.blockdrv.BlockNode;
import dev.strata.device.GuestMemory;
import dev.strata.harness.guest.SectorStamp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Judges a disk after a crash against the guest's {@link JournalFile} and the window's original
 * content: every sector a durable write covered must hold that write or one that may legally have
 * landed after it (a write that ended after the durable one was submitted, or one the journal does
 * not list, which therefore did not end before the last journaled flush began); a sector no
 * durable write covered may hold its original content or any intact stamp of this run for that
 * sector. Anything else is lost, stale, torn, misplaced or corrupt.
 *
 * <p>Stateless; any thread. Reads through a 1 MiB scratch {@link GuestMemory} of its own.
 */
public final class DataJudge {

    private static final int BUF = 1 << 20;
    private static final int SECTOR = SectorStamp.SECTOR;

    private DataJudge() {
    }

    /** The outcome: sectors checked, sectors durable writes covered, failures by kind, a few examples. */
    public record Verdict(long checked, long durableSectors, long lost, long stale, long torn, long misplaced,
                          long corrupt, List<String> examples) {
        public long failures() {
            return lost + stale + torn + misplaced + corrupt;
        }

        public boolean ok() {
            return failures() == 0;
        }

        public String describe() {
            return ok() ? "data OK (" + checked + " sectors, " + durableSectors + " covered by durable writes)"
                    : "DATA FAILED: lost " + lost + ", stale " + stale + ", torn " + torn + ", misplaced " + misplaced
                    + ", corrupt " + corrupt + "; e.g. " + examples;
        }
    }

    /** Hashes of each sector of {@code [offset, offset+length)} as {@code node} reads now (the original content). */
    public static long[] baseline(BlockNode node, long offset, long length) {
        GuestMemory mem = GuestMemory.allocate(BUF);
        long[] h = new long[(int) (length / SECTOR)];
        for (long done = 0; done < length; done += BUF) {
            int n = (int) Math.min(BUF, length - done);
            node.read(offset + done, mem.slice(0, n));
            for (int s = 0; s < n / SECTOR; s++) {
                h[(int) (done / SECTOR) + s] = SectorStamp.hash(mem, (long) s * SECTOR);
            }
        }
        return h;
    }

    /** Reads {@code [offset, offset+length)} through {@code node} and judges it. */
    public static Verdict judge(BlockNode node, long offset, long length, long[] baseline, JournalFile journal) {
        long first = offset / SECTOR;
        int sectors = (int) (length / SECTOR);
        long[] durableSeq = new long[sectors];
        Map<Long, Long> endAt = new HashMap<>();
        for (JournalFile.Entry e : journal.entries()) {
            endAt.put(e.seq(), e.endAt());
            if (!e.acked()) {
                continue;
            }
            for (int i = 0; i < e.sectors(); i++) {
                long idx = e.lba() + i - first;
                if (idx >= 0 && idx < sectors) {
                    durableSeq[(int) idx] = Math.max(durableSeq[(int) idx], e.seq());
                }
            }
        }
        long covered = 0;
        for (long d : durableSeq) {
            covered += d != 0 ? 1 : 0;
        }
        long[] counts = new long[5];
        List<String> examples = new ArrayList<>();
        GuestMemory mem = GuestMemory.allocate(BUF);
        for (long done = 0; done < length; done += BUF) {
            int n = (int) Math.min(BUF, length - done);
            node.read(offset + done, mem.slice(0, n));
            for (int s = 0; s < n / SECTOR; s++) {
                int idx = (int) (done / SECTOR) + s;
                long lba = first + idx;
                long addr = (long) s * SECTOR;
                long want = durableSeq[idx];
                SectorStamp.Header hd = SectorStamp.read(mem, addr, journal.tag());
                int kind;
                String what;
                if (hd.ours() && hd.intact() && hd.lba() == lba) {
                    Long end = endAt.get(hd.seq());
                    if (end == null || end > want) {
                        continue;
                    }
                    kind = 1;
                    what = "stale: holds write #" + hd.seq() + " (ended at " + end + "), durable write #" + want + " replaced it";
                } else if (SectorStamp.hash(mem, addr) == baseline[idx]) {
                    if (want == 0) {
                        continue;
                    }
                    kind = 0;
                    what = "lost: durable write #" + want + " missing, the original content is there";
                } else if (hd.ours() && !hd.intact()) {
                    kind = 2;
                    what = "torn: stamp of write #" + hd.seq() + " with data that does not match it";
                } else if (hd.ours()) {
                    kind = 3;
                    what = "misplaced: holds write #" + hd.seq() + " meant for lba " + hd.lba();
                } else {
                    kind = 4;
                    what = "corrupt: neither the original content nor a write of this run (durable write #" + want + ")";
                }
                counts[kind]++;
                if (examples.size() < 10) {
                    examples.add("lba " + lba + " " + what);
                }
            }
        }
        return new Verdict(sectors, covered, counts[0], counts[1], counts[2], counts[3], counts[4], List.copyOf(examples));
    }
}
