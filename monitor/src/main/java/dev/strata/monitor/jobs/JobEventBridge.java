package dev.strata.monitor.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.jobs.BlockJobEvent;
import dev.strata.jobs.JobEventListener;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobType;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.Json;

/**
 * Turns job events into QMP events on the monitor's bus, in the order the job manager sends
 * them (it calls under its lock; the bus only queues, so this never blocks a job).
 */
public final class JobEventBridge implements JobEventListener {

    private final EventBus bus;

    JobEventBridge(EventBus bus) {
        this.bus = bus;
    }

    /** Sends the events of {@code jobs} to {@code bus} from now on; once per machine. */
    public static void attach(JobManager jobs, EventBus bus) {
        jobs.addListener(new JobEventBridge(bus));
    }

    @Override
    public void jobStatusChange(String id, JobStatus status) {
        ObjectNode d = Json.object();
        d.put("id", id);
        d.put("status", status.qapiName());
        bus.emit("JOB_STATUS_CHANGE", d);
    }

    @Override
    public void blockJobCompleted(BlockJobEvent info, String error) {
        bus.emit("BLOCK_JOB_COMPLETED", JobJson.blockJobEvent(info, error));
    }

    @Override
    public void blockJobCancelled(BlockJobEvent info) {
        bus.emit("BLOCK_JOB_CANCELLED", JobJson.blockJobEvent(info, null));
    }

    @Override
    public void blockJobReady(BlockJobEvent info) {
        bus.emit("BLOCK_JOB_READY", JobJson.blockJobEvent(info, null));
    }

    @Override
    public void blockJobPending(JobType type, String id) {
        ObjectNode d = Json.object();
        d.put("type", type.qapiName());
        d.put("id", id);
        bus.emit("BLOCK_JOB_PENDING", d);
    }

    @Override
    public void blockJobError(String id, IoOperation operation, ErrorAction action) {
        ObjectNode d = Json.object();
        d.put("device", id);
        d.put("operation", operation.qapiName());
        d.put("action", action.qapiName());
        bus.emit("BLOCK_JOB_ERROR", d);
    }
}
