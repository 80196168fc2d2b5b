package dev.strata.harness.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import dev.strata.harness.guest.Guest;
import dev.strata.harness.guest.Workload;
import dev.strata.harness.guest.WorkloadSpec;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest's crash journal and the judge that reads it, in-process on a raw image: a journal
 * lists flushed writes only, the judge passes the disk the guest left, and it names the damage
 * when a durable write is undone, replaced by an older write, or overwritten with garbage.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CrashJournalJudgeTest {

    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    /** Runs a journaling workload on {@code img} (raw, pattern-filled) for a moment; returns its journal. */
    private Path runGuest(Path img, String extra) throws Exception {
        Path journal = dir.resolve("journal");
        BlockGraph graph = new BlockGraph();
        VmRunState vm = new VmRunState(RunState.RUNNING);
        GuestMemory mem = GuestMemory.allocate(32 << 20);
        Peripherals devices = new Peripherals(vm, mem);
        Guest guest = new Guest(vm, mem);
        try {
            BlockBackend b = graph.createBackend("virtio0", graph.open(BlockOptions.parse("file=" + img + ",format=raw", "file")),
                    BlockBackend.CacheMode.WRITEBACK);
            guest.attach(devices.createVirtioBlk(DeviceOptions.of(b)));
            Workload w = guest.start(WorkloadSpec.parse("drive=virtio0,rw=randwrite,bs=4k,iodepth=4,verify=on,number_ios=3000,"
                    + extra + "journal=" + journal));
            assertTrue(w.await(Duration.ofSeconds(60)));
        } finally {
            guest.close();
            vm.shutdown();
            devices.close();
            graph.closeAll();
        }
        return journal;
    }

    private static Path pattern(Path img) throws Exception {
        byte[] data = new byte[(int) SIZE];
        new SplittableRandom(7).nextBytes(data);
        Files.write(img, data);
        return img;
    }

    private static long[] baseline(Path img) {
        BlockGraph g = new BlockGraph();
        try {
            return DataJudge.baseline(g.open(BlockOptions.parse("file=" + img + ",format=raw,read-only=on", "file")), 0, SIZE);
        } finally {
            g.closeAll();
        }
    }

    private static DataJudge.Verdict judge(Path img, long[] baseline, JournalFile j) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.parse("file=" + img + ",format=raw,read-only=on", "file"));
            return DataJudge.judge(n, 0, SIZE, baseline, j);
        } finally {
            g.closeAll();
        }
    }

    @Test
    void journalListsFlushedWritesAndTheJudgeSeesEveryKindOfDamage() throws Exception {
        Path img = pattern(dir.resolve("disk.raw"));
        long[] baseline = baseline(img);
        JournalFile j = JournalFile.read(runGuest(img, "fsync=8,"));
        assertEquals("virtio0", j.drive());
        assertTrue(j.durableWrites() > 1000, "most of 3000 writes were followed by a flush: " + j.durableWrites());
        DataJudge.Verdict ok = judge(img, baseline, j);
        assertTrue(ok.ok(), ok.describe());
        assertTrue(ok.durableSectors() > 0);

        // the newest durable write of some sector: undo it (original content), then replay an older one there
        JournalFile.Entry last = j.entries().stream().filter(JournalFile.Entry::acked).reduce((a, b) -> b).orElseThrow();
        long at = last.lba() * 512;
        byte[] orig = new byte[512];
        new SplittableRandom(7).nextBytes(new byte[(int) at]);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            byte[] saved = new byte[512];
            f.seek(at);
            f.readFully(saved);
            byte[] all = new byte[(int) SIZE];
            new SplittableRandom(7).nextBytes(all);
            System.arraycopy(all, (int) at, orig, 0, 512);
            f.seek(at);
            f.write(orig);
            DataJudge.Verdict lost = judge(img, baseline, j);
            assertEquals(1, lost.lost(), lost.describe());

            f.seek(at);
            f.write(new byte[512]);
            DataJudge.Verdict corrupt = judge(img, baseline, j);
            assertEquals(1, corrupt.corrupt(), corrupt.describe());

            f.seek(at);
            byte[] torn = saved.clone();
            torn[300] ^= 1;
            f.write(torn);
            assertEquals(1, judge(img, baseline, j).torn());

            // the same stamp one sector further on is misplaced
            f.seek(at + (last.lba() * 512 + 512 < SIZE ? 512 : -512));
            f.write(saved);
            DataJudge.Verdict misplaced = judge(img, baseline, j);
            assertTrue(misplaced.misplaced() == 1 || misplaced.stale() + misplaced.misplaced() >= 1, misplaced.describe());
            assertFalse(misplaced.ok());
        }
    }

    @Test
    void withoutFlushesTheJournalClaimsNothing() throws Exception {
        Path img = pattern(dir.resolve("disk.raw"));
        long[] baseline = baseline(img);
        JournalFile j = JournalFile.read(runGuest(img, ""));
        assertEquals(0, j.durableWrites());
        assertTrue(judge(img, baseline, j).ok());
    }

    @Test
    void aCutLastRecordIsIgnoredAndGarbageIsRefused() throws Exception {
        Path f = dir.resolve("j");
        Files.writeString(f, "# strata crash journal v1 drive=virtio0 tag=0x0000abcd\nA 8 8 3 5\nA 16 8 4 7\nA 2");
        JournalFile j = JournalFile.read(f);
        assertEquals(2, j.entries().size());
        assertEquals(0xabcd, j.tag());
        Files.writeString(f, "hello\n");
        assertThrows(java.io.IOException.class, () -> JournalFile.read(f));
        assertThrows(IllegalArgumentException.class, () -> WorkloadSpec.parse("journal=x"));
    }
}
