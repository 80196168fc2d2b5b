package dev.strata.monitor.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.jobs.BlockJobEvent;
import dev.strata.jobs.BlockJobInfo;
import dev.strata.jobs.JobInfo;
import dev.strata.monitor.Json;

/**
 * JSON of job queries and events, members in the QAPI schema's order (the QMP writer turns that
 * into QEMU's wire order). Stateless.
 */
public final class JobJson {

    private JobJson() {
    }

    /** {@code BlockJobInfo}. */
    public static ObjectNode blockJobInfo(BlockJobInfo i) {
        ObjectNode o = Json.object();
        o.put("type", i.type().qapiName());
        o.put("device", i.device());
        o.put("len", i.len());
        o.put("offset", i.offset());
        o.put("busy", i.busy());
        o.put("paused", i.paused());
        o.put("speed", i.speed());
        o.put("io-status", i.ioStatus().qapiName());
        o.put("ready", i.ready());
        o.put("status", i.status().qapiName());
        o.put("auto-finalize", i.autoFinalize());
        o.put("auto-dismiss", i.autoDismiss());
        if (i.error() != null) {
            o.put("error", i.error());
        }
        return o;
    }

    /** {@code JobInfo}. */
    public static ObjectNode jobInfo(JobInfo i) {
        ObjectNode o = Json.object();
        o.put("id", i.id());
        o.put("type", i.type().qapiName());
        o.put("status", i.status().qapiName());
        o.put("current-progress", i.currentProgress());
        o.put("total-progress", i.totalProgress());
        if (i.error() != null) {
            o.put("error", i.error());
        }
        return o;
    }

    /** Data of BLOCK_JOB_COMPLETED / _CANCELLED / _READY. */
    public static ObjectNode blockJobEvent(BlockJobEvent e, String error) {
        ObjectNode o = Json.object();
        o.put("type", e.type().qapiName());
        o.put("device", e.device());
        o.put("len", e.len());
        o.put("offset", e.offset());
        o.put("speed", e.speed());
        if (error != null) {
            o.put("error", error);
        }
        return o;
    }
}
