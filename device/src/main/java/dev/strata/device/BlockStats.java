package dev.strata.device;

/**
 * A snapshot of one device's I/O accounting, field for field QEMU's {@code BlockDeviceStats}
 * ({@code query-blockstats} {@code stats}). Byte and operation counts cover completed requests;
 * {@code failed*} counts requests completed with an error; {@code invalid*} counts requests
 * rejected before reaching the block layer (out of range, malformed). Times are nanoseconds spent
 * from request start to completion. {@code idleTimeNs} is -1 before the first I/O (QEMU then omits
 * {@code idle_time_ns}). The monitor renders it ({@code query-blockstats}, {@code info blockstats}).
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
}
