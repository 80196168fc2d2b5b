package dev.strata.harness.guest;

import java.util.Locale;

/**
 * One second (or the last partial interval) of a workload's live figures.
 *
 * @param workload       workload name
 * @param drive          drive id
 * @param second         seconds since the workload started, at the end of this interval
 * @param readIops       completed reads per second
 * @param writeIops      completed writes per second
 * @param readBytesPerSec  bytes read per second
 * @param writeBytesPerSec bytes written per second
 * @param p50Ns          median request latency in the interval (reads and writes), ns
 * @param p99Ns          99th percentile, ns
 * @param p999Ns         99.9th percentile, ns
 * @param errors         requests that failed in the interval
 * @param verifyFailures verification failures found in the interval
 */
public record IntervalReport(String workload, String drive, long second, double readIops, double writeIops,
                             double readBytesPerSec, double writeBytesPerSec, long p50Ns, long p99Ns, long p999Ns,
                             long errors, long verifyFailures) {

    public double iops() {
        return readIops + writeIops;
    }

    /** One line, e.g. {@code [virtio0-randrw 3s] read 9.9k IOPS 38.7 MiB/s | write 9.8k IOPS 38.3 MiB/s | lat p50 45us p99 180us p99.9 410us}. */
    public String format() {
        StringBuilder sb = new StringBuilder();
        sb.append('[').append(workload).append(' ').append(second).append("s] ");
        sb.append("read ").append(count(readIops)).append(" IOPS ").append(mib(readBytesPerSec));
        sb.append(" | write ").append(count(writeIops)).append(" IOPS ").append(mib(writeBytesPerSec));
        sb.append(" | lat p50 ").append(time(p50Ns)).append(" p99 ").append(time(p99Ns))
                .append(" p99.9 ").append(time(p999Ns));
        if (errors > 0) {
            sb.append(" | errors ").append(errors);
        }
        if (verifyFailures > 0) {
            sb.append(" | VERIFY FAILURES ").append(verifyFailures);
        }
        return sb.toString();
    }

    static String count(double v) {
        if (v >= 1_000_000) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (v >= 1000) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String mib(double bytesPerSec) {
        return String.format(Locale.ROOT, "%.1f MiB/s", bytesPerSec / (1 << 20));
    }

    static String time(long ns) {
        if (ns >= 10_000_000) {
            return String.format(Locale.ROOT, "%.0fms", ns / 1e6);
        }
        if (ns >= 1_000_000) {
            return String.format(Locale.ROOT, "%.1fms", ns / 1e6);
        }
        return String.format(Locale.ROOT, "%.0fus", ns / 1e3);
    }
}
