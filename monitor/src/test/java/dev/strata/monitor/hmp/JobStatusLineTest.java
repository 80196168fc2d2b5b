package dev.strata.monitor.hmp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.strata.blockdrv.error.IoStatus;
import dev.strata.jobs.BlockJobInfo;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobType;
import org.junit.jupiter.api.Test;

class JobStatusLineTest {

    @Test
    void drawsOffsetOverLenAsABar() {
        BlockJobInfo j = new BlockJobInfo(JobType.STREAM, "virtio0", 100L << 20, 25L << 20, false, false, 0,
                IoStatus.OK, false, JobStatus.RUNNING, true, true, null);
        assertEquals("stream virtio0 [######..................]  25%  25.0/100.0 MiB  running", JobStatusLine.line(j));
        BlockJobInfo done = new BlockJobInfo(JobType.MIRROR, "m0", 0, 0, false, false, 4096,
                IoStatus.OK, true, JobStatus.READY, true, true, null);
        assertEquals("mirror m0 [########################] 100%  0.0/0.0 MiB  ready  limit 4096 B/s", JobStatusLine.line(done));
    }
}
