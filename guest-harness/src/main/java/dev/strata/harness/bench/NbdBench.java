package dev.strata.harness.bench;

import dev.strata.harness.bench.NbdServerProcess.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * NBD server performance next to its references, in one invocation: the same qcow2 image served by
 * Strata ({@code strata nbd}), {@code qemu-nbd} and QEMU's built-in server, and {@code nbdkit memory}
 * as the floor of server overhead, each on a unix socket and driven by {@code fio --ioengine=nbd}:
 * 4 KiB random read and write at iodepth 32, 4 KiB random read at iodepth 1 (p50/p99 completion
 * latency), 64 KiB and 1 MiB sequential reads (iodepth 8), and {@code nbdcopy} of the whole export
 * to {@code null:}. Every figure is the median of {@code --reps} runs; the servers take turns within
 * each repetition so machine noise falls on all of them. Prints Strata's ratio to each reference
 * (above 1 = Strata better, latency included) and the CPU seconds each server process used.
 *
 * <pre>
 * strata bench nbd [--size 1G] [--seconds 5] [--reps 3] [--servers strata,qemu-nbd,qemu,nbdkit-memory]
 * </pre>
 *
 * Needs qemu-img, qemu-io, qemu-nbd, qemu-system-x86_64, nbdkit, fio (with its nbd engine) and nbdcopy.
 */
public final class NbdBench {

    private NbdBench() {
    }

    /** A measured job: name, unit, whether lower is better, and how fio (or nbdcopy) runs it. */
    private record Job(String name, String unit, boolean lowerBetter, String rw, String bs, int depth, String metric) {
    }

    private static final List<Job> JOBS = List.of(
            new Job("4k randread qd32", "IOPS", false, "randread", "4k", 32, "read-iops"),
            new Job("4k randwrite qd32", "IOPS", false, "randwrite", "4k", 32, "write-iops"),
            new Job("4k randread qd1 p50", "us", true, "randread", "4k", 1, "read-p50"),
            new Job("4k randread qd1 p99", "us", true, "randread", "4k", 1, "read-p99"),
            new Job("64k seq read qd8", "MiB/s", false, "read", "64k", 8, "read-mibs"),
            new Job("1M seq read qd8", "MiB/s", false, "read", "1M", 8, "read-mibs"),
            new Job("nbdcopy whole export", "MiB/s", false, null, null, 0, "nbdcopy"));

    static final String USAGE = """
            strata bench nbd [--size 1G] [--seconds 5] [--reps 3] [--servers strata,qemu-nbd,qemu,nbdkit-memory]
              --size     image size (K/M/G suffixes); the image is filled with data first
              --seconds  length of each fio run (after 1 s of ramp)
              --reps     repetitions; every figure is the median, the servers take turns in each
              --servers  which servers to run; ratios are printed when strata is among them
            A short run: strata bench nbd --size 256M --seconds 2 --reps 1 --servers strata,qemu-nbd""";

    public static void main(String[] args) throws Exception {
        long size = 1L << 30;
        int seconds = 5;
        int reps = 3;
        List<Kind> servers = List.of(Kind.values());
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.println(USAGE);
                    return;
                }
                case "--size" -> size = parseSize(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--servers" -> servers = Arrays.stream(args[++i].split(",")).map(NbdBench::kind).toList();
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (usage: " + USAGE.lines().findFirst().orElse("") + ")");
            }
        }
        Path dir = Files.createTempDirectory("strata-nbd-bench");
        Path image = dir.resolve("disk.qcow2");
        System.out.println("load average at start: " + loadAverage());
        run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), String.valueOf(size));
        // every cluster allocated and holding data, so reads are real reads on every server
        run("qemu-io", "-f", "qcow2", image.toString(), "-c", "write -P 0x5a 0 " + size);
        Map<Kind, Map<String, List<Double>>> results = new EnumMap<>(Kind.class);
        Map<Kind, Double> cpu = new EnumMap<>(Kind.class);
        for (int rep = 1; rep <= reps; rep++) {
            for (Kind k : servers) {
                System.out.printf("rep %d/%d: %s%n", rep, reps, k.label);
                try (NbdServerProcess s = NbdServerProcess.start(k, image, size, dir)) {
                    double cpu0 = s.cpuSeconds();
                    Map<String, List<Double>> r = results.computeIfAbsent(k, x -> new LinkedHashMap<>());
                    for (Job j : JOBS) {
                        if (j.name().endsWith("p99")) {
                            continue; // measured in the same run as p50
                        }
                        if (j.rw() == null) {
                            r.computeIfAbsent(j.name(), x -> new ArrayList<>()).add(nbdcopy(s.uri(), size));
                        } else {
                            Map<String, Double> m = fio(s.uri(), j, seconds, size);
                            r.computeIfAbsent(j.name(), x -> new ArrayList<>()).add(m.get(j.metric()));
                            if (j.metric().equals("read-p50")) {
                                r.computeIfAbsent(j.name().replace("p50", "p99"), x -> new ArrayList<>()).add(m.get("read-p99"));
                            }
                        }
                    }
                    cpu.merge(k, s.cpuSeconds() - cpu0, Double::sum);
                }
            }
        }
        print(results, cpu, servers, reps, seconds, size);
        System.out.println("load average at end: " + loadAverage());
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    private static Kind kind(String label) {
        for (Kind k : Kind.values()) {
            if (k.label.equals(label)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown server " + label);
    }

    /** fio's terse (v3) output: read/write IOPS and bandwidth, read completion latency percentiles. */
    private static Map<String, Double> fio(String uri, Job j, int seconds, long size) throws IOException, InterruptedException {
        String out = run("fio", "--name=bench", "--ioengine=nbd", "--uri=" + uri, "--rw=" + j.rw(), "--bs=" + j.bs(),
                "--iodepth=" + j.depth(), "--size=" + size, "--runtime=" + seconds, "--time_based", "--ramp_time=1",
                "--randrepeat=0", "--norandommap", "--output-format=terse", "--terse-version=3");
        String line = out.lines().filter(l -> l.startsWith("3;")).findFirst()
                .orElseThrow(() -> new IOException("fio printed no terse result: " + out));
        String[] f = line.split(";");
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("read-iops", Double.parseDouble(f[7]));
        m.put("read-mibs", Double.parseDouble(f[6]) / 1024.0);
        m.put("write-iops", Double.parseDouble(f[48]));
        for (int i = 17; i < 37; i++) {
            if (f[i].startsWith("50.000000%=")) {
                m.put("read-p50", Double.parseDouble(f[i].substring(f[i].indexOf('=') + 1)));
            } else if (f[i].startsWith("99.000000%=")) {
                m.put("read-p99", Double.parseDouble(f[i].substring(f[i].indexOf('=') + 1)));
            }
        }
        return m;
    }

    private static double nbdcopy(String uri, long size) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        run("nbdcopy", uri, "null:");
        double s = (System.nanoTime() - t0) / 1e9;
        return size / (1024.0 * 1024.0) / s;
    }

    private static void print(Map<Kind, Map<String, List<Double>>> results, Map<Kind, Double> cpu, List<Kind> servers, int reps,
                              int seconds, long size) {
        System.out.printf(Locale.ROOT, "%nNBD servers on a unix socket, %d MiB qcow2 (nbdkit: memory), fio --ioengine=nbd, %d s per run, "
                + "median of %d%n", size >> 20, seconds, reps);
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-22s %-6s", "job", "unit"));
        for (Kind k : servers) {
            head.append(String.format(Locale.ROOT, " %13s", k.label));
        }
        if (servers.contains(Kind.STRATA)) {
            for (Kind k : servers) {
                if (k != Kind.STRATA) {
                    head.append(String.format(Locale.ROOT, " %14s", "vs " + k.label));
                }
            }
        }
        System.out.println(head);
        for (Job j : JOBS) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-22s %-6s", j.name(), j.unit()));
            Map<Kind, Double> med = new EnumMap<>(Kind.class);
            for (Kind k : servers) {
                double v = median(results.get(k).get(j.name()));
                med.put(k, v);
                row.append(String.format(Locale.ROOT, " %13.1f", v));
            }
            if (med.containsKey(Kind.STRATA)) {
                for (Kind k : servers) {
                    if (k != Kind.STRATA) {
                        double ratio = j.lowerBetter() ? med.get(k) / med.get(Kind.STRATA) : med.get(Kind.STRATA) / med.get(k);
                        row.append(String.format(Locale.ROOT, " %13.2fx", ratio));
                    }
                }
            }
            System.out.println(row);
        }
        StringBuilder c = new StringBuilder(String.format(Locale.ROOT, "%-22s %-6s", "server CPU (all reps)", "s"));
        for (Kind k : servers) {
            c.append(String.format(Locale.ROOT, " %13.1f", cpu.getOrDefault(k, Double.NaN)));
        }
        System.out.println(c);
        System.out.println("ratios: Strata / reference for rates, reference / Strata for latency (above 1 = Strata better)");
    }

    private static double median(List<Double> v) {
        if (v == null || v.isEmpty()) {
            return Double.NaN;
        }
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + new String(out, StandardCharsets.UTF_8));
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private static long parseSize(String s) {
        char u = Character.toUpperCase(s.charAt(s.length() - 1));
        long mult = switch (u) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        return Long.parseLong(mult == 1 ? s : s.substring(0, s.length() - 1)) * mult;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
