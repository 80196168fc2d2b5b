package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.device.BlockStats;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class VirtioMachineTest {

    @TempDir
    Path dir;

    private Path rawImage(String name, long size) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
            // some non-zero original content, so "never written" checks something
            f.seek(size / 2);
            f.write(new byte[] {1, 2, 3, 4});
        }
        return p;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldRunVerifyingRandomWorkloadWithoutFailures() throws Exception {
        Path img = rawImage("disk.raw", 16 << 20);
        try (TestMachine m = new TestMachine()) {
            GuestDisk disk = m.virtio("virtio0", "file=" + img + ",format=raw", o -> o);
            Workload w = m.guest.start(WorkloadSpec.parse("drive=virtio0,rw=randrw,bs=4k,iodepth=8,runtime=3,verify=on,fsync=64"));
            Workload w2 = m.guest.start(WorkloadSpec.parse("drive=virtio0,rw=write,bs=16k,iodepth=2,runtime=3,verify=on,offset=8M,size=4M"));
            assertTrue(w.await(Duration.ofSeconds(30)));
            assertTrue(w2.await(Duration.ofSeconds(30)));
            WorkloadResult r = w.result();
            System.out.println(r.format());
            System.out.println(w2.result().format());
            assertTrue(r.reads() > 100 && r.writes() > 100, "workload made progress: " + r.format());
            assertEquals(0, r.errors());
            List<VerifyReport> reports = m.guest.verifyAll();
            assertEquals(1, reports.size());
            System.out.println(reports.get(0).describe());
            assertTrue(reports.get(0).ok(), reports.get(0).describe());
            assertTrue(reports.get(0).sectorsWritten() > 1000);
            BlockStats s = m.devices.byDrive("virtio0").stats();
            assertTrue(s.rdOperations() >= r.reads() && s.wrOperations() >= r.writes() + w2.result().writes());
            assertTrue(s.flushOperations() > 0);
            assertEquals(0, s.failedRdOperations() + s.failedWrOperations());
            assertTrue(w.intervals().size() >= 2, "per-second figures were published");
        }
    }
}
