package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.device.BlockDevice;
import dev.strata.device.BlockStats;
import dev.strata.device.ide.AtaCommand;
import dev.strata.device.ide.AtaSpec;
import dev.strata.device.ide.IdeDisk;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IdeMachineTest {

    @TempDir
    Path dir;

    private Path raw(long size) throws Exception {
        Path p = dir.resolve("ide.raw");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    @Test
    void shouldIdentifyAsQemuHarddiskAndRunAVerifyingWorkload() throws Exception {
        try (TestMachine m = new TestMachine()) {
            AtaDriver d = (AtaDriver) m.ide("ide0-hd0", "file=" + raw(8 << 20) + ",format=raw", o -> o);
            assertEquals("QEMU HARDDISK", d.model());
            assertEquals("QM00001", d.serial());
            assertEquals(8 << 20, d.capacity());
            BlockDevice dev = m.devices.byDrive("ide0-hd0");
            assertEquals("/machine/unattached/device[18]", dev.attachedTo());
            assertEquals("ide-hd", dev.model());

            Workload w = m.guest.start(WorkloadSpec.parse("rw=randrw,bs=8k,iodepth=4,runtime=2,verify=on,fsync=16"));
            assertTrue(w.await(Duration.ofSeconds(30)));
            WorkloadResult r = w.result();
            System.out.println(r.format());
            assertTrue(r.reads() > 50 && r.writes() > 50, r.format());
            assertEquals(0, r.errors());
            VerifyReport v = m.guest.verifyAll().get(0);
            assertTrue(v.ok(), v.describe());
            BlockStats s = dev.stats();
            // the device counts the guest's reads plus the verifier's baseline and final passes
            assertTrue(s.rdOperations() > r.reads(), "reads counted");
            assertTrue(s.wrOperations() >= r.writes() && s.flushOperations() > 0);
        }
    }

    @Test
    void shouldUseLba48BeyondTheLba28RangeAndRefuseAddressesPastTheEnd() throws Exception {
        try (TestMachine m = new TestMachine()) {
            // sparse 140 GiB: sectors beyond 2^28 need READ/WRITE DMA EXT
            AtaDriver d = (AtaDriver) m.ide("ide0-hd0", "file=" + raw(140L << 30) + ",format=raw", o -> o);
            GuestBuffer b = m.guest.allocator().allocate(4096, 4096);
            m.memory.fill(b.address(), 4096, (byte) 0x3c);
            long far = (1L << 28) * 512 + 4096;
            assertEquals(IoResult.OK, d.write(far, b));
            m.memory.fill(b.address(), 4096, (byte) 0);
            assertEquals(IoResult.OK, d.read(far, b));
            assertEquals((byte) 0x3c, m.memory.getByte(b.address() + 4000));
            assertEquals(IoResult.IOERR, d.read(d.capacity() - 512, b), "a transfer past the end fails (IDNF)");
            assertEquals(1, m.devices.byDrive("ide0-hd0").stats().invalidRdOperations());
            assertEquals(IoResult.OK, d.flush());
        }
    }

    @Test
    void shouldAbortUnknownCommandsAndRefuseASecondCommandWhileBusy() throws Exception {
        try (TestMachine m = new TestMachine()) {
            m.ide("ide0-hd0", "file=" + raw(1 << 20) + ",format=raw", o -> o);
            IdeDisk disk = (IdeDisk) m.devices.byDrive("ide0-hd0");
            java.util.concurrent.CountDownLatch irq = new java.util.concurrent.CountDownLatch(1);
            disk.connect(irq::countDown);
            assertTrue(disk.issue(AtaCommand.simple(0x99)));
            assertTrue(irq.await(10, TimeUnit.SECONDS));
            assertEquals(AtaSpec.ST_DRDY | AtaSpec.ST_ERR, disk.status());
            assertEquals(AtaSpec.ERR_ABRT, disk.error());
            // CHS addressing is refused rather than guessed at
            java.util.concurrent.CountDownLatch irq2 = new java.util.concurrent.CountDownLatch(1);
            disk.connect(irq2::countDown);
            assertTrue(disk.issue(new AtaCommand(AtaSpec.CMD_READ_DMA, 0, 1, 0, 0)));
            assertTrue(irq2.await(10, TimeUnit.SECONDS));
            assertEquals(AtaSpec.ERR_ABRT, disk.error());
        }
    }
}
