package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verifier is only worth something if it fails when the disk is wrong: damage the disk
 * behind the guest's back (through the backend) and check each kind is reported at the right LBA.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VerifierDetectsDamageTest {

    @TempDir
    Path dir;

    @Test
    void shouldReportLostTornMisplacedStaleAndCorruptSectorsByLba() throws Exception {
        Path img = dir.resolve("d.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(2 << 20);
        }
        try (TestMachine m = new TestMachine()) {
            GuestDisk d = m.virtio("virtio0", "file=" + img + ",format=raw", o -> o);
            // write blocks 0..63 once (seq write, 4k each), verified
            Workload w = m.guest.start(WorkloadSpec.parse("rw=write,bs=4k,number_ios=64,verify=on,size=256k"));
            assertTrue(w.await(java.time.Duration.ofSeconds(20)));
            BlockBackend b = m.graph.backend("virtio0");
            ByteBuffer sector = ByteBuffer.allocate(512);

            // stale: keep block 1's first sector, write block 1 again, put the old sector back
            b.read(4096, sector.clear());
            byte[] old = sector.array().clone();
            Verifier v = m.guest.verifier("virtio0");
            GuestBuffer buf = m.guest.allocator().allocate(4096, 4096);
            long seq = v.beginWrite(4096, buf);
            assertEquals(IoResult.OK, d.write(4096, buf));
            v.endWrite(4096, 4096, seq, true);
            b.write(4096, ByteBuffer.wrap(old));                                // lba 8: stale

            b.write(0, ByteBuffer.allocate(512));                              // lba 0: original zeros: lost
            b.read(16384, sector.clear());                                     // lba 32 ...
            b.write(20480, ByteBuffer.wrap(sector.array().clone()));           // ... copied to lba 40: misplaced
            b.read(24576, sector.clear());
            byte[] torn = sector.array().clone();
            torn[300] ^= 1;
            b.write(24576, ByteBuffer.wrap(torn));                             // lba 48: torn
            byte[] junk = new byte[512];
            java.util.Arrays.fill(junk, (byte) 0x77);
            b.write(512 << 10, ByteBuffer.wrap(junk));                         // lba 1024: never written, changed

            System.out.println("(the VERIFY FAILURE lines that follow are expected: this test damaged the disk on purpose)");
            VerifyReport r = m.guest.verifyAll().get(0);
            System.out.println(r.describe());
            assertEquals(5, r.failureCount(), r.describe());
            assertKind(r, 0, VerifyFailure.Kind.LOST);
            assertKind(r, 8, VerifyFailure.Kind.STALE);
            assertKind(r, 40, VerifyFailure.Kind.MISPLACED);
            assertKind(r, 48, VerifyFailure.Kind.TORN);
            assertKind(r, 1024, VerifyFailure.Kind.CORRUPT);
        }
    }

    private static void assertKind(VerifyReport r, long lba, VerifyFailure.Kind kind) {
        assertTrue(r.failures().stream().anyMatch(f -> f.lba() == lba && f.kind() == kind),
                "expected " + kind + " at lba " + lba + " in " + r.describe());
    }
}
