package dev.strata.monitor.watch;

import java.util.List;

/**
 * What {@code info guest} reads from the machine's synthetic guest; the launcher adapts its guest
 * and gives it to {@link WatchCommands}. Implementations read live counters and may be called
 * from any monitor thread at any time.
 */
@FunctionalInterface
public interface GuestWatch {

    /** The figures of a machine without a synthetic guest: no workloads. */
    GuestWatch NONE = List::of;

    /** One entry per workload started so far (running or finished), in start order. */
    List<Figures> workloads();

    /**
     * One workload's figures.
     *
     * @param workload       the workload's name, e.g. {@code virtio0-randrw}
     * @param drive          the drive it runs on
     * @param running        false once it stopped
     * @param iops           completed requests per second over the last full second
     * @param bytesPerSec    bytes read and written per second over the last full second
     * @param p50Ns          median latency over the last full second, ns
     * @param p99Ns          99th percentile over the last full second, ns
     * @param operations     reads and writes completed since it started
     * @param verifying      whether it runs with {@code verify=on}
     * @param blocksChecked  blocks read back and checked against what was written (0 without verify)
     * @param verifyFailures blocks that did not hold what they must
     */
    record Figures(String workload, String drive, boolean running, double iops, double bytesPerSec, long p50Ns,
                   long p99Ns, long operations, boolean verifying, long blocksChecked, long verifyFailures) {
    }
}
