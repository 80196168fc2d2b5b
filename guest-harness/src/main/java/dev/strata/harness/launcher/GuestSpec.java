package dev.strata.harness.launcher;

import java.time.Duration;
import java.util.Map;

/**
 * One {@code -guest}: a workload the synthetic guest runs, in fio's words.
 *
 * @param drive     the drive id or qdev id whose disk the workload drives; null = the first disk
 * @param rw        read, write, randread, randwrite, randrw (or rw = sequential mix)
 * @param blockSize bytes per request, a multiple of 512
 * @param iodepth   requests in flight
 * @param rwmixread percentage of reads in a mixed workload
 * @param rateIops  request rate cap, 0 = unlimited
 * @param offset    start of the window the workload touches, bytes
 * @param size      length of that window, 0 = to the end of the disk
 * @param runtime   how long to run; null = until the machine quits
 * @param seed      random seed; null = derived from time
 * @param verify    stamp every written block and check every read against a shadow map
 * @param params    the key=value pairs as typed (for the workload's own parser and messages)
 * @param typed     the option as typed
 */
public record GuestSpec(String drive, String rw, long blockSize, int iodepth, int rwmixread, long rateIops,
                        long offset, long size, Duration runtime, Long seed, boolean verify,
                        Map<String, String> params, String typed) {

    public GuestSpec {
        params = Map.copyOf(params);
    }
}
