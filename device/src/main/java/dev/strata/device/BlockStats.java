package dev.strata.device;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of one device's I/O accounting, field for field QEMU's {@code BlockDeviceStats}
 * ({@code query-blockstats} {@code stats}). Byte and operation counts cover completed requests;
 * {@code failed*} counts requests completed with an error; {@code invalid*} counts requests
 * rejected before reaching the block layer (out of range, malformed). Times are nanoseconds spent
 * from request start to completion. {@code idleTimeNs} is -1 before the first I/O (QEMU then omits
 * {@code idle_time_ns}).
 */
public record BlockStats(
        long rdBytes, long wrBytes, long unmapBytes,
        long rdOperations, long wrOperations, long flushOperations, long unmapOperations,
        long rdTotalTimeNs, long wrTotalTimeNs, long flushTotalTimeNs, long unmapTotalTimeNs,
        long rdMerged, long wrMerged, long unmapMerged,
        long wrHighestOffset,
        long failedRdOperations, long failedWrOperations, long failedFlushOperations, long failedUnmapOperations,
        long invalidRdOperations, long invalidWrOperations, long invalidFlushOperations, long invalidUnmapOperations,
        long idleTimeNs, boolean accountInvalid, boolean accountFailed) {

    /** A device that has seen no I/O yet (and a backend with no device): all zero, no idle time. */
    public static final BlockStats ZERO = new BlockStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, -1, true, true);

    /**
     * The QMP {@code stats} object, keys in the order QEMU 7.2 prints them, values Long/Boolean
     * (and an empty {@code timed_stats} list). {@code idle_time_ns} only after the first I/O.
     */
    public Map<String, Object> asQmpMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("unmap_operations", unmapOperations);
        m.put("unmap_merged", unmapMerged);
        m.put("flush_total_time_ns", flushTotalTimeNs);
        m.put("wr_highest_offset", wrHighestOffset);
        m.put("wr_total_time_ns", wrTotalTimeNs);
        m.put("failed_wr_operations", failedWrOperations);
        m.put("failed_rd_operations", failedRdOperations);
        m.put("wr_merged", wrMerged);
        m.put("wr_bytes", wrBytes);
        m.put("timed_stats", List.of());
        m.put("failed_unmap_operations", failedUnmapOperations);
        m.put("failed_flush_operations", failedFlushOperations);
        m.put("account_invalid", accountInvalid);
        m.put("rd_total_time_ns", rdTotalTimeNs);
        m.put("invalid_unmap_operations", invalidUnmapOperations);
        m.put("flush_operations", flushOperations);
        m.put("wr_operations", wrOperations);
        m.put("unmap_bytes", unmapBytes);
        m.put("rd_merged", rdMerged);
        m.put("rd_bytes", rdBytes);
        m.put("unmap_total_time_ns", unmapTotalTimeNs);
        m.put("invalid_flush_operations", invalidFlushOperations);
        m.put("account_failed", accountFailed);
        if (idleTimeNs >= 0) {
            m.put("idle_time_ns", idleTimeNs);
        }
        m.put("rd_operations", rdOperations);
        m.put("invalid_wr_operations", invalidWrOperations);
        m.put("invalid_rd_operations", invalidRdOperations);
        return m;
    }

    /**
     * The HMP {@code info blockstats} line of drive {@code driveId}, e.g. {@code virtio0: rd_bytes=0
     * wr_bytes=0 rd_operations=0 wr_operations=0 flush_operations=0 wr_total_time_ns=0
     * rd_total_time_ns=0 flush_total_time_ns=0 rd_merged=0 wr_merged=0 idle_time_ns=0}.
     */
    public String hmpLine(String driveId) {
        return driveId + ": rd_bytes=" + rdBytes + " wr_bytes=" + wrBytes
                + " rd_operations=" + rdOperations + " wr_operations=" + wrOperations
                + " flush_operations=" + flushOperations + " wr_total_time_ns=" + wrTotalTimeNs
                + " rd_total_time_ns=" + rdTotalTimeNs + " flush_total_time_ns=" + flushTotalTimeNs
                + " rd_merged=" + rdMerged + " wr_merged=" + wrMerged
                + " idle_time_ns=" + Math.max(0, idleTimeNs);
    }
}
