package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.Sizes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses Strata's own {@code -guest} option: a workload as fio-style key=value pairs, e.g.
 * {@code drive=virtio0,rw=randrw,bs=4k,iodepth=8,runtime=30,verify=on}. {@code script=FILE} is
 * reserved for scenario scripts, which do not exist yet.
 *
 * <p>Pure functions; any thread.
 */
final class GuestOptions {

    static final Set<String> RW = Set.of("read", "write", "randread", "randwrite", "randrw", "rw", "readwrite");
    private static final Set<String> KEYS = Set.of("drive", "rw", "bs", "iodepth", "rwmixread", "rate_iops",
            "offset", "size", "runtime", "seed", "verify", "script");

    private GuestOptions() {
    }

    static GuestSpec parse(String value, String typed) {
        Map<String, String> o = OptionText.parse(value, null, List.of(), typed, false);
        for (String k : o.keySet()) {
            if (!KEYS.contains(k)) {
                throw new UsageException(typed, "Invalid parameter '" + k + "' (a workload knows "
                        + "drive, rw, bs, iodepth, rwmixread, rate_iops, offset, size, runtime, seed, verify)");
            }
        }
        if (o.containsKey("script")) {
            throw new UsageException(typed, "scenario scripts are not available yet (a later issue adds them)");
        }
        String rw = o.getOrDefault("rw", "randrw");
        if (!RW.contains(rw)) {
            throw new UsageException(typed, "Parameter 'rw' does not accept value '" + rw
                    + "' (read, write, randread, randwrite, randrw, rw)");
        }
        long bs = size(o.getOrDefault("bs", "4k"), "bs", typed);
        if (bs < 512 || bs % 512 != 0 || bs > (16 << 20)) {
            throw new UsageException(typed, "Parameter 'bs' must be a multiple of 512 between 512 and 16M");
        }
        int iodepth = (int) OptionText.number(o.getOrDefault("iodepth", "8"), "iodepth", typed, 1, 1024);
        int mix = (int) OptionText.number(o.getOrDefault("rwmixread", "50"), "rwmixread", typed, 0, 100);
        long rate = OptionText.number(o.getOrDefault("rate_iops", "0"), "rate_iops", typed, 0, 100_000_000);
        long offset = size(o.getOrDefault("offset", "0"), "offset", typed);
        long length = size(o.getOrDefault("size", "0"), "size", typed);
        if (offset % 512 != 0 || length % 512 != 0) {
            throw new UsageException(typed, "Parameters 'offset' and 'size' must be multiples of 512");
        }
        Duration runtime = o.containsKey("runtime") ? duration(o.get("runtime"), typed) : null;
        Long seed = o.containsKey("seed") ? OptionText.number(o.get("seed"), "seed", typed, 0, Long.MAX_VALUE) : null;
        boolean verify = OptionText.bool(o.getOrDefault("verify", "on"), "verify", typed);
        String drive = o.get("drive");
        if (drive != null && drive.isEmpty()) {
            throw new UsageException(typed, "Parameter 'drive' expects a drive id");
        }
        return new GuestSpec(drive, rw, bs, iodepth, mix, rate, offset, length, runtime, seed, verify, o, typed);
    }

    private static long size(String v, String key, String typed) {
        try {
            return Sizes.parseBytes(v, key);
        } catch (BlockException e) {
            throw new UsageException(typed, "Parameter '" + key + "' expects a size");
        }
    }

    /** fio's time values: seconds by default, or with an s, m or h suffix. */
    static Duration duration(String v, String typed) {
        String num = v;
        long unit = 1;
        if (!v.isEmpty() && "smh".indexOf(v.charAt(v.length() - 1)) >= 0) {
            unit = switch (v.charAt(v.length() - 1)) {
                case 'm' -> 60;
                case 'h' -> 3600;
                default -> 1;
            };
            num = v.substring(0, v.length() - 1);
        }
        long n = OptionText.number(num, "runtime", typed, 1, 10L * 365 * 24 * 3600);
        return Duration.ofSeconds(Math.multiplyExact(n, unit));
    }
}
