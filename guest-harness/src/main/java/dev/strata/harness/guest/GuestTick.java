package dev.strata.harness.guest;

/**
 * One {@value Workload#TICK_MILLIS} ms of a workload's figures: what a timeline samples so that a
 * two-second lab still draws a line.
 *
 * @param workload    workload name
 * @param drive       drive id
 * @param atMillis    milliseconds since the workload started, at the end of this tick
 * @param iops        completed reads and writes per second over the tick
 * @param bytesPerSec bytes read and written per second over the tick
 * @param p50Ns       median latency over the tick (0 when nothing completed), ns
 * @param p99Ns       99th percentile over the tick, ns
 * @param errors      requests that failed during the tick
 */
public record GuestTick(String workload, String drive, long atMillis, double iops, double bytesPerSec, long p50Ns,
                        long p99Ns, long errors) {
}
