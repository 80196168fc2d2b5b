package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** rate_iops, the offset/size window and number_ios on a null-co disk. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RateAndWindowTest {

    @Test
    void shouldHoldTheRateAndStayInTheWindow() throws Exception {
        try (TestMachine m = new TestMachine()) {
            m.virtio("virtio0", "driver=null-co,size=64M", o -> o);
            Workload w = m.guest.start(WorkloadSpec.parse("rw=randwrite,bs=4k,iodepth=4,rate_iops=200,runtime=2,offset=1M,size=1M"));
            assertTrue(w.await(Duration.ofSeconds(30)));
            WorkloadResult r = w.result();
            // 2 s at 200 IOPS: about 400. The cap must hold; a loaded machine may fall short of it
            assertTrue(r.writes() >= 20 && r.writes() <= 600, r.format());
            assertTrue(m.devices.byDrive("virtio0").stats().wrHighestOffset() <= 2 << 20, "writes stayed below offset+size");
        }
    }

    @Test
    void shouldStopAfterNumberIosAndRefuseAWindowPastTheDisk() throws Exception {
        try (TestMachine m = new TestMachine()) {
            m.virtio("virtio0", "driver=null-co,size=8M", o -> o);
            Workload w = m.guest.start(WorkloadSpec.parse("rw=read,bs=4k,iodepth=3,number_ios=1000"));
            assertTrue(w.await(Duration.ofSeconds(30)));
            assertEquals(1000, w.result().reads());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.guest.start(WorkloadSpec.parse("rw=read,offset=8M")));
            assertTrue(e.getMessage().contains("beyond the end of virtio0"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.guest.start(WorkloadSpec.parse("drive=nope")));
            assertEquals("guest workload: no disk on drive 'nope'", e.getMessage());
        }
    }
}
