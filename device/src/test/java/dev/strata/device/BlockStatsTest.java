package dev.strata.device;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockStatsTest {

    @Test
    void statsShouldRenderLikeQemu() {
        BlockStats s = new IoAccounting().snapshot();
        assertEquals("virtio0: rd_bytes=0 wr_bytes=0 rd_operations=0 wr_operations=0 flush_operations=0 "
                + "wr_total_time_ns=0 rd_total_time_ns=0 flush_total_time_ns=0 rd_merged=0 wr_merged=0 idle_time_ns=0",
                s.hmpLine("virtio0"));
        assertEquals(false, s.asQmpMap().containsKey("idle_time_ns"), "no idle time before the first I/O");
        assertEquals("unmap_operations", s.asQmpMap().keySet().iterator().next());
    }
}
