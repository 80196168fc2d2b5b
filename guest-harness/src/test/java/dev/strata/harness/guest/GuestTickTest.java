package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The 100 ms ticks a timeline draws, and the seconds built from them, agree with what the workload did. */
@Timeout(60)
class GuestTickTest {

    @TempDir
    Path dir;

    @Test
    void tenTicksASecondAndTheSecondsAddUp() throws Exception {
        Path img = dir.resolve("disk.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        try (TestMachine m = new TestMachine()) {
            m.virtio("virtio0", "file=" + img + ",format=raw", o -> o);
            Workload w = m.guest.start(WorkloadSpec.parse("drive=virtio0,rw=randrw,bs=4k,iodepth=4,runtime=2,rate_iops=2000,verify=on"));
            List<GuestTick> ticks = new CopyOnWriteArrayList<>();
            w.onTick(ticks::add);
            GuestTick early = w.lastSecond();
            assertTrue(w.await(Duration.ofSeconds(30)));
            // 2 s of ticks (the listener came a moment after the start, and the last tick may be partial)
            assertTrue(ticks.size() >= 17 && ticks.size() <= 21, "ticks: " + ticks.size());
            for (int i = 1; i < ticks.size(); i++) {
                assertTrue(ticks.get(i).atMillis() > ticks.get(i - 1).atMillis());
            }
            double meanIops = ticks.stream().mapToDouble(GuestTick::iops).average().orElse(0);
            assertTrue(meanIops > 1000 && meanIops < 2600, "a 2000 IOPS workload ticks at about 2000: " + meanIops);
            int seconds = w.intervals().size();
            assertTrue(seconds == 2 || seconds == 3, "still one IntervalReport a second (and a partial last): " + seconds);
            long perSecond = Math.round(w.intervals().get(0).iops());
            assertTrue(Math.abs(perSecond - 2000) < 400, "first second: " + perSecond);
            assertTrue(w.checkedReads() > 500 && w.checkedReads() < w.operations(), "about half the operations were checked reads");
            assertEquals(w.result().reads() + w.result().writes(), w.operations());
            assertTrue(early.iops() >= 0 && early.atMillis() < 1000, "lastSecond works before the first full second");
        }
    }
}
