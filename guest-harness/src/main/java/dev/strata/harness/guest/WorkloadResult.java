package dev.strata.harness.guest;

import java.time.Duration;

/**
 * A finished (or stopped) workload's totals.
 *
 * @param name           workload name
 * @param drive          drive id
 * @param elapsed        wall time from start to the last worker's end
 * @param reads          completed reads (successful or not)
 * @param writes         completed writes
 * @param flushes        completed flushes
 * @param readBytes      bytes read successfully
 * @param writeBytes     bytes written successfully
 * @param errors         requests that completed with an error
 * @param verifyFailures failures found by reads during the run (the final pass is reported separately)
 * @param p50Ns          median read/write latency over the run, ns
 * @param p99Ns          99th percentile, ns
 * @param p999Ns         99.9th percentile, ns
 * @param maxNs          largest latency, ns
 */
public record WorkloadResult(String name, String drive, Duration elapsed, long reads, long writes, long flushes,
                             long readBytes, long writeBytes, long errors, long verifyFailures,
                             long p50Ns, long p99Ns, long p999Ns, long maxNs) {

    public double iops() {
        double s = elapsed.toNanos() / 1e9;
        return s <= 0 ? 0 : (reads + writes) / s;
    }

    public String format() {
        double s = Math.max(1e-9, elapsed.toNanos() / 1e9);
        return String.format(java.util.Locale.ROOT,
                "%s on %s: %.1fs, %d reads, %d writes, %d flushes, %s IOPS, read %s, write %s, lat p50 %s p99 %s p99.9 %s max %s, errors %d, verify failures %d",
                name, drive, s, reads, writes, flushes, IntervalReport.count(iops()),
                IntervalReport.mib(readBytes / s), IntervalReport.mib(writeBytes / s),
                IntervalReport.time(p50Ns), IntervalReport.time(p99Ns), IntervalReport.time(p999Ns),
                IntervalReport.time(maxNs), errors, verifyFailures);
    }
}
