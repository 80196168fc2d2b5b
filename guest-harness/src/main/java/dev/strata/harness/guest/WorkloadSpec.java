package dev.strata.harness.guest;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One guest workload, in the spirit of a fio job: what {@code -guest drive=virtio0,rw=randrw,bs=4k,
 * iodepth=8,runtime=30,verify=on} says. See docs/guest.md for every key.
 *
 * @param name       job name in reports ({@code name=}; default {@code <drive>-<rw>})
 * @param drive      drive id to run on ({@code drive=}); null: the guest's first disk
 * @param rw         access pattern ({@code rw=read|write|randread|randwrite|randrw})
 * @param blockSize  bytes per request ({@code bs=}, multiple of 512, default 4k)
 * @param ioDepth    requests kept in flight ({@code iodepth=}, default 1)
 * @param rwMixRead  percent of reads for randrw ({@code rwmixread=}, default 50)
 * @param rateIops   cap on requests per second, 0 = none ({@code rate_iops=})
 * @param offset     start of the window on the disk ({@code offset=}, default 0)
 * @param size       window length, 0 = to the end of the disk ({@code size=})
 * @param runtime    how long to run, null = until stopped ({@code runtime=}, seconds or 500ms/2m/1h)
 * @param numberIos  stop after this many requests, 0 = no limit ({@code number_ios=})
 * @param seed       random seed ({@code seed=}, default 0x5eed)
 * @param verify     stamp writes and check every read and a final pass ({@code verify=on|off})
 * @param fsync      flush after every N writes, 0 = never ({@code fsync=})
 * @param journal    crash journal file of this disk's flushed writes, or null ({@code journal=}, needs verify=on;
 *                   see {@link CrashJournal})
 */
public record WorkloadSpec(String name, String drive, Rw rw, int blockSize, int ioDepth, int rwMixRead,
                           long rateIops, long offset, long size, Duration runtime, long numberIos, long seed,
                           boolean verify, int fsync, String journal) {

    /** fio's {@code rw=} patterns that Strata's guest implements. */
    public enum Rw {
        READ, WRITE, RANDREAD, RANDWRITE, RANDRW;

        public boolean random() {
            return this == RANDREAD || this == RANDWRITE || this == RANDRW;
        }

        public String keyword() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Largest bs accepted (guest buffers are preallocated per in-flight request). */
    public static final int MAX_BLOCK_SIZE = 4 << 20;
    /** Largest iodepth accepted. */
    public static final int MAX_IO_DEPTH = 1024;

    public WorkloadSpec {
        if (blockSize <= 0 || blockSize % 512 != 0 || blockSize > MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("guest workload: 'bs' must be a multiple of 512 up to 4M, not " + blockSize);
        }
        if (ioDepth < 1 || ioDepth > MAX_IO_DEPTH) {
            throw new IllegalArgumentException("guest workload: 'iodepth' must be 1.." + MAX_IO_DEPTH + ", not " + ioDepth);
        }
        if (rwMixRead < 0 || rwMixRead > 100) {
            throw new IllegalArgumentException("guest workload: 'rwmixread' must be 0..100, not " + rwMixRead);
        }
        if (rateIops < 0 || offset < 0 || size < 0 || numberIos < 0 || fsync < 0) {
            throw new IllegalArgumentException("guest workload: rate_iops, offset, size, number_ios and fsync must not be negative");
        }
        if (offset % 512 != 0 || size % 512 != 0) {
            throw new IllegalArgumentException("guest workload: 'offset' and 'size' must be multiples of 512");
        }
        if (journal != null && (journal.isEmpty() || !verify)) {
            throw new IllegalArgumentException(journal.isEmpty() ? "guest workload: 'journal' needs a file name"
                    : "guest workload: 'journal' needs verify=on (it records the stamps verification writes)");
        }
    }

    /** Defaults: randrw, 4k, iodepth 1, 50% reads, whole disk, until stopped, no verify. */
    public static WorkloadSpec defaults() {
        return new WorkloadSpec(null, null, Rw.RANDRW, 4096, 1, 50, 0, 0, 0, null, 0, 0x5eed, false, 0, null);
    }

    /**
     * Parses {@code key=value,key=value}. Errors are {@link IllegalArgumentException}s whose message
     * names the key, e.g. {@code guest workload: invalid value 'x' for 'bs' (expected a size such as 4k)}.
     */
    public static WorkloadSpec parse(String text) {
        Map<String, String> kv = new LinkedHashMap<>();
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("guest workload: empty specification");
        }
        for (String part : text.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("guest workload: expected key=value, got '" + part + "'");
            }
            String key = part.substring(0, eq).trim();
            if (kv.put(key, part.substring(eq + 1).trim()) != null) {
                throw new IllegalArgumentException("guest workload: key '" + key + "' given twice");
            }
        }
        WorkloadSpec d = defaults();
        String name = d.name;
        String drive = d.drive;
        Rw rw = d.rw;
        int bs = d.blockSize;
        int depth = d.ioDepth;
        int mix = d.rwMixRead;
        long rate = d.rateIops;
        long offset = d.offset;
        long size = d.size;
        Duration runtime = d.runtime;
        long ios = d.numberIos;
        long seed = d.seed;
        boolean verify = d.verify;
        int fsync = d.fsync;
        String journal = d.journal;
        for (Map.Entry<String, String> e : kv.entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            switch (k) {
                case "name" -> name = v;
                case "drive" -> drive = v;
                case "rw", "readwrite" -> rw = parseRw(k, v);
                case "bs", "blocksize" -> bs = (int) Math.min(Integer.MAX_VALUE, parseSize(k, v));
                case "iodepth" -> depth = (int) parseLong(k, v, 1, MAX_IO_DEPTH);
                case "rwmixread" -> mix = (int) parseLong(k, v, 0, 100);
                case "rwmixwrite" -> mix = 100 - (int) parseLong(k, v, 0, 100);
                case "rate_iops" -> rate = parseLong(k, v, 0, Long.MAX_VALUE);
                case "offset" -> offset = parseSize(k, v);
                case "size" -> size = parseSize(k, v);
                case "runtime" -> runtime = parseDuration(k, v);
                case "number_ios" -> ios = parseLong(k, v, 0, Long.MAX_VALUE);
                case "seed", "randseed" -> seed = parseLong(k, v, Long.MIN_VALUE, Long.MAX_VALUE);
                case "verify" -> verify = parseBool(k, v);
                case "fsync" -> fsync = (int) parseLong(k, v, 0, Integer.MAX_VALUE);
                case "journal" -> journal = v;
                case "script" -> throw new IllegalArgumentException(
                        "guest workload: 'script' is not a workload key: give a scenario script as its own -guest script=FILE, or run it with bin/strata run FILE");
                default -> throw new IllegalArgumentException("guest workload: unknown key '" + k + "'");
            }
        }
        return new WorkloadSpec(name, drive, rw, bs, depth, mix, rate, offset, size, runtime, ios, seed, verify, fsync, journal);
    }

    /** The name reports use: {@code name=} if given, else {@code <drive>-<rw>}. */
    public String displayName(String driveId) {
        return name != null ? name : driveId + "-" + rw.keyword();
    }

    private static Rw parseRw(String k, String v) {
        for (Rw r : Rw.values()) {
            if (r.keyword().equals(v)) {
                return r;
            }
        }
        throw new IllegalArgumentException("guest workload: invalid value '" + v + "' for '" + k
                + "' (expected read, write, randread, randwrite or randrw)");
    }

    private static boolean parseBool(String k, String v) {
        return switch (v) {
            case "on", "1", "true", "yes" -> true;
            case "off", "0", "false", "no" -> false;
            default -> throw new IllegalArgumentException("guest workload: invalid value '" + v + "' for '" + k
                    + "' (expected on or off)");
        };
    }

    private static long parseLong(String k, String v, long min, long max) {
        long n;
        try {
            n = v.startsWith("0x") ? Long.parseUnsignedLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("guest workload: invalid value '" + v + "' for '" + k + "' (expected a number)");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException("guest workload: '" + k + "' must be " + min + ".." + max + ", not " + n);
        }
        return n;
    }

    /** A byte count: digits with an optional k/m/g/t suffix (powers of 1024, fio's default), optional "iB"/"B". */
    static long parseSize(String k, String v) {
        String s = v.trim();
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.endsWith("ib")) {
            lower = lower.substring(0, lower.length() - 2);
        } else if (lower.endsWith("b")) {
            lower = lower.substring(0, lower.length() - 1);
        }
        int shift = 0;
        if (!lower.isEmpty()) {
            switch (lower.charAt(lower.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                case 't' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                lower = lower.substring(0, lower.length() - 1);
            } else {
                shift = 0;
            }
        }
        try {
            long n = Long.parseLong(lower);
            if (n < 0 || (shift > 0 && n > (Long.MAX_VALUE >> shift))) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("guest workload: invalid value '" + v + "' for '" + k
                    + "' (expected a size such as 4k)");
        }
    }

    /** Seconds by default; suffixes ms, s, m, h. */
    static Duration parseDuration(String k, String v) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        try {
            Duration d;
            if (s.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            } else if (s.endsWith("s")) {
                d = Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
            } else if (s.endsWith("m")) {
                d = Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
            } else if (s.endsWith("h")) {
                d = Duration.ofHours(Long.parseLong(s.substring(0, s.length() - 1)));
            } else {
                d = Duration.ofSeconds(Long.parseLong(s));
            }
            if (d.isNegative() || d.isZero()) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("guest workload: invalid value '" + v + "' for '" + k
                    + "' (expected a positive time such as 30, 500ms, 2m)");
        }
    }
}
