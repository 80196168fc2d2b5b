package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WorkloadSpecTest {

    @Test
    void shouldParseTheLauncherExample() {
        WorkloadSpec s = WorkloadSpec.parse("drive=virtio0,rw=randrw,bs=4k,iodepth=8,runtime=30,verify=on");
        assertEquals("virtio0", s.drive());
        assertEquals(WorkloadSpec.Rw.RANDRW, s.rw());
        assertEquals(4096, s.blockSize());
        assertEquals(8, s.ioDepth());
        assertEquals(Duration.ofSeconds(30), s.runtime());
        assertTrue(s.verify());
        assertEquals(50, s.rwMixRead());
        assertEquals("virtio0-randrw", s.displayName("virtio0"));
    }

    @Test
    void shouldParseEveryKeyAndUnit() {
        WorkloadSpec s = WorkloadSpec.parse("name=j1,rw=write,bs=1M,iodepth=32,rwmixwrite=30,rate_iops=500,"
                + "offset=64M,size=1G,runtime=500ms,number_ios=1000,seed=0x10,verify=off,fsync=8");
        assertEquals("j1", s.displayName("x"));
        assertEquals(1 << 20, s.blockSize());
        assertEquals(70, s.rwMixRead());
        assertEquals(500, s.rateIops());
        assertEquals(64L << 20, s.offset());
        assertEquals(1L << 30, s.size());
        assertEquals(Duration.ofMillis(500), s.runtime());
        assertEquals(1000, s.numberIos());
        assertEquals(16, s.seed());
        assertFalse(s.verify());
        assertEquals(8, s.fsync());
        assertEquals(Duration.ofMinutes(2), WorkloadSpec.parse("runtime=2m").runtime());
        assertEquals(4096, WorkloadSpec.parse("bs=4KiB").blockSize());
        assertEquals(8192, WorkloadSpec.parse("bs=8kb").blockSize());
        assertNull(WorkloadSpec.parse("rw=read").runtime(), "no runtime: until stopped");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "bs=x|guest workload: invalid value 'x' for 'bs' (expected a size such as 4k)",
        "bs=1000|guest workload: 'bs' must be a multiple of 512 up to 4M, not 1000",
        "rw=randomrw|guest workload: invalid value 'randomrw' for 'rw' (expected read, write, randread, randwrite or randrw)",
        "iodepth=0|guest workload: 'iodepth' must be 1..1024, not 0",
        "iodepth=lots|guest workload: invalid value 'lots' for 'iodepth' (expected a number)",
        "rwmixread=101|guest workload: 'rwmixread' must be 0..100, not 101",
        "runtime=-1|guest workload: invalid value '-1' for 'runtime' (expected a positive time such as 30, 500ms, 2m)",
        "verify=maybe|guest workload: invalid value 'maybe' for 'verify' (expected on or off)",
        "foo=1|guest workload: unknown key 'foo'",
        "bs=4k,bs=8k|guest workload: key 'bs' given twice",
        "drive|guest workload: expected key=value, got 'drive'",
        "offset=100|guest workload: 'offset' and 'size' must be multiples of 512",
        "script=a.txt|guest workload: 'script' is not a workload key: give a scenario script as its own -guest script=FILE, or run it with bin/strata run FILE",
    })
    void shouldRefuseBadInputNamingTheKey(String text, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkloadSpec.parse(text));
        assertEquals(message, e.getMessage());
    }

    @Test
    void histogramShouldReportPercentilesWithinThreePercent() {
        LatencyHistogram h = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++) {
            h.record(v * 1000);                  // 1 us .. 100 ms, uniform
        }
        assertEquals(100_000, h.count());
        assertClose(50_000_000, h.percentile(50));
        assertClose(99_000_000, h.percentile(99));
        assertClose(99_900_000, h.percentile(99.9));
        assertClose(100_000_000, h.max());
        LatencyHistogram other = new LatencyHistogram();
        h.drainInto(other);
        assertEquals(0, h.count());
        assertEquals(100_000, other.count());
        assertEquals(0, new LatencyHistogram().percentile(99));
        for (long v : new long[] {0, 1, 63, 64, 65, 1L << 40, Long.MAX_VALUE}) {
            int b = LatencyHistogram.bucketOf(v);
            assertTrue(LatencyHistogram.upperEdgeOf(b) >= v, "bucket of " + v + " ends at or after it");
            assertTrue(b == 0 || LatencyHistogram.upperEdgeOf(b - 1) < v, "and starts after the previous one");
        }
    }

    private static void assertClose(long expected, long actual) {
        assertTrue(Math.abs(actual - expected) <= expected * 0.035, "expected ~" + expected + ", got " + actual);
    }
}
