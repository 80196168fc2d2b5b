package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.jobs.BlockJobEvent;
import dev.strata.jobs.BlockJobInfo;
import dev.strata.jobs.JobInfo;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobType;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.QmpEvent;
import dev.strata.monitor.qmp.QmpJson;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Job JSON on the wire, byte for byte as the reference captured it from QEMU 7.2. */
class JobJsonWireOrderTest {

    @Test
    void queryBlockJobsEntry() {
        BlockJobInfo i = new BlockJobInfo(JobType.STREAM, "virtio0", 67108864, 524288, false, false, 1024, IoStatus.OK,
                false, JobStatus.RUNNING, true, true, null);
        assertEquals("{\"auto-finalize\": true, \"io-status\": \"ok\", \"device\": \"virtio0\", \"auto-dismiss\": true, "
                + "\"busy\": false, \"len\": 67108864, \"offset\": 524288, \"status\": \"running\", \"paused\": false, "
                + "\"speed\": 1024, \"ready\": false, \"type\": \"stream\"}", QmpJson.write(JobJson.blockJobInfo(i)));
    }

    @Test
    void queryJobsEntries() {
        assertEquals("{\"current-progress\": 524288, \"status\": \"running\", \"total-progress\": 67108864, \"type\": \"stream\", \"id\": \"virtio0\"}",
                QmpJson.write(JobJson.jobInfo(new JobInfo("virtio0", JobType.STREAM, JobStatus.RUNNING, 524288, 67108864, null))));
        assertEquals("{\"current-progress\": 67108864, \"status\": \"concluded\", \"total-progress\": 67108864, \"type\": \"stream\", "
                + "\"id\": \"s3\", \"error\": \"Operation canceled\"}",
                QmpJson.write(JobJson.jobInfo(new JobInfo("s3", JobType.STREAM, JobStatus.CONCLUDED, 67108864, 67108864, "Operation canceled"))));
    }

    @Test
    void eventData() {
        EventBus bus = new EventBus();
        List<QmpEvent> seen = new ArrayList<>();
        bus.subscribe(seen::add);
        JobEventBridge b = new JobEventBridge(bus);
        b.jobStatusChange("virtio0", JobStatus.CREATED);
        b.blockJobReady(new BlockJobEvent(JobType.MIRROR, "virtio0", 1048576, 1048576, 0));
        b.blockJobCompleted(new BlockJobEvent(JobType.STREAM, "virtio0", 67108864, 67108864, 0), null);
        b.blockJobCompleted(new BlockJobEvent(JobType.MIRROR, "me2", 67108864, 13631488, 0), "Input/output error");
        b.blockJobCancelled(new BlockJobEvent(JobType.STREAM, "virtio0", 67108864, 1572864, 2048));
        b.blockJobError("me", IoOperation.WRITE, ErrorAction.STOP);
        b.blockJobPending(JobType.STREAM, "s2");
        List<String> data = seen.stream().map(e -> e.name() + " " + QmpJson.write(e.data())).toList();
        assertEquals(List.of(
                "JOB_STATUS_CHANGE {\"status\": \"created\", \"id\": \"virtio0\"}",
                "BLOCK_JOB_READY {\"device\": \"virtio0\", \"len\": 1048576, \"offset\": 1048576, \"speed\": 0, \"type\": \"mirror\"}",
                "BLOCK_JOB_COMPLETED {\"device\": \"virtio0\", \"len\": 67108864, \"offset\": 67108864, \"speed\": 0, \"type\": \"stream\"}",
                "BLOCK_JOB_COMPLETED {\"device\": \"me2\", \"len\": 67108864, \"offset\": 13631488, \"speed\": 0, \"type\": \"mirror\", \"error\": \"Input/output error\"}",
                "BLOCK_JOB_CANCELLED {\"device\": \"virtio0\", \"len\": 67108864, \"offset\": 1572864, \"speed\": 2048, \"type\": \"stream\"}",
                "BLOCK_JOB_ERROR {\"device\": \"me\", \"operation\": \"write\", \"action\": \"stop\"}",
                "BLOCK_JOB_PENDING {\"type\": \"stream\", \"id\": \"s2\"}"), data);
    }
}
