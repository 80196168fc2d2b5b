package dev.strata.monitor;

/**
 * Per-device I/O accounting as {@code query-blockstats} / {@code info blockstats} report it
 * (QEMU's {@code BlockDeviceStats}). The launcher fills it from the device model; a backend
 * without a device reports {@link #ZERO}.
 *
 * @param idleTimeNs nanoseconds since the last I/O, or -1 when there was none (QEMU then omits it)
 */
public record DeviceStats(long rdBytes, long wrBytes, long unmapBytes,
                          long rdOperations, long wrOperations, long flushOperations, long unmapOperations,
                          long rdTotalTimeNs, long wrTotalTimeNs, long flushTotalTimeNs, long unmapTotalTimeNs,
                          long failedRdOperations, long failedWrOperations, long failedFlushOperations, long failedUnmapOperations,
                          long invalidRdOperations, long invalidWrOperations, long invalidFlushOperations, long invalidUnmapOperations,
                          long rdMerged, long wrMerged, long unmapMerged, long wrHighestOffset, long idleTimeNs) {

    public static final DeviceStats ZERO = new DeviceStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1);
}
