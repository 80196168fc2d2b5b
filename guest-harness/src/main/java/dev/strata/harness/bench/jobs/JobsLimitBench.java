package dev.strata.harness.bench.jobs;

import dev.strata.harness.bench.BenchChains;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Issue 18's benchmark: every block job, Strata against QEMU 7.2, with the machine as the
 * yardstick, at {@code cache=writeback} and {@code cache=none}, in one invocation.
 *
 * <p>On the 3-layer qcow2 chain of the earlier job benchmarks (64 KiB clusters, layers 50 %,
 * 20 %, 10 % allocated; {@code --size} MiB virtual, default 1024) it times stream, intermediate
 * commit, active commit (to READY, then complete), mirror full and backup full. QEMU runs as a
 * user runs a job on a root node: {@code qemu-system-x86_64 -machine none} with the qcow2 node
 * {@code drive0} given by {@code -blockdev} ({@code cache.direct=on} for cache=none; the backing
 * chain and the job's target inherit it), no device. Strata opens the same graph in-process. The
 * two are interleaved (A B, then B A in the next round) for {@code --rounds} rounds (default 5),
 * each run on its own fresh copy of the chain; after each run {@code qemu-img compare} checks that
 * the job's result reads exactly like the pristine chain. In each round the host's limit for the
 * same bytes is measured too (see {@link HostLimits}): a durable buffered copy for writeback, an
 * O_DIRECT copy at the best queue depth (found once at the start) for none.
 *
 * <p>Prints per job and mode the medians: seconds and MB/s (10^6 bytes of data the job copies),
 * Strata / QEMU (QEMU's time over Strata's), Strata as a percentage of the limit, and CPU seconds
 * per GiB copied of each process (QEMU's from /proc, Strata's JVM's whole process time). Exits
 * non-zero (an exception) if any result failed to verify.
 *
 * <p>Usage: {@code strata bench jobs-limit [--size MiB] [--rounds N] [--modes writeback,none]
 * [--jobs stream,commit,mirror,backup] [workdir]} (default workdir {@code target/jobs-limit}).
 * Single-threaded driver.
 */
public final class JobsLimitBench {

    /** What {@code strata bench jobs-limit --help} prints (see {@link dev.strata.harness.launcher.BenchCatalog}). */
    public static final String USAGE = "strata bench jobs-limit [--size MiB] [--rounds N] [--modes writeback,none] [--jobs stream,commit,mirror,backup] [WORKDIR]\n"
            + "  (defaults: 1024 MiB, 5 rounds, both modes, every job, target/jobs-limit)\n"
            + "Every block job, Strata against QEMU 7.2 on the 3-layer chain, interleaved, at cache=writeback and\n"
            + "cache=none, with the machine's own limit (a durable copy; an O_DIRECT copy at its best depth) in the\n"
            + "same rounds; exits non-zero if a result does not verify.";

    private static final double MB = 1e6;
    private static final double GIB = 1L << 30;

    /** One timed run: wall and CPU nanoseconds. */
    private record Sample(long ns, long cpuNs) {
    }

    /** Everything measured for one job in one cache mode. */
    private static final class Cell {
        final JobKind kind;
        final boolean direct;
        final long bytes;
        final List<Sample> qemu = new ArrayList<>();
        final List<Sample> strata = new ArrayList<>();
        final List<Long> limit = new ArrayList<>();

        Cell(JobKind kind, boolean direct, long bytes) {
            this.kind = kind;
            this.direct = direct;
            this.bytes = bytes;
        }
    }

    private JobsLimitBench() {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Files.createDirectories(o.dir);
        System.out.printf("%s, load average %s; chain %d MiB virtual (qcow2, 64 KiB clusters, layers 50/20/10 %% allocated), "
                + "%d rounds, QEMU and Strata interleaved%n", Instant.now().truncatedTo(ChronoUnit.SECONDS), loadAverage(),
                o.sizeMiB, o.rounds);
        BenchChains.build(o.dir, o.sizeMiB << 20, new double[] {0.5, 0.2, 0.1}, 64 << 10, 42);
        warmUp(o);
        Path source = o.dir.resolve("L0.qcow2");   // what the limit copies read
        Path scratch = o.dir.resolve("limit-copy.tmp");
        int depth = o.modes.contains(true) ? HostLimits.bestDepth(source, scratch, Math.min(256L << 20, Files.size(source))) : 0;
        Map<String, Cell> cells = new LinkedHashMap<>();
        for (boolean direct : o.modes) {
            for (JobKind k : o.kinds) {
                cells.put(key(k, direct), new Cell(k, direct, JobsBench.dataBytes(o.dir, k)));
            }
        }
        List<String> failures = new ArrayList<>();
        for (int r = 0; r < o.rounds; r++) {
            int i = 0;
            for (Cell c : cells.values()) {
                boolean qemuFirst = (r + i++) % 2 == 0;
                for (boolean qemu : qemuFirst ? new boolean[] {true, false} : new boolean[] {false, true}) {
                    Path run = JobsBench.freshChain(o.dir, qemu ? "qemu" : "strata");
                    (qemu ? c.qemu : c.strata).add(qemu ? runQemu(c, run) : runStrata(c, run));
                    String bad = verify(o.dir.resolve("L2.qcow2"), c.kind.result(run));
                    if (bad != null) {
                        failures.add(String.format("round %d, %s, %s, %s: %s", r + 1, mode(c.direct), c.kind.label(),
                                qemu ? "QEMU" : "Strata", bad));
                        System.out.println("VERIFY FAILED: " + failures.get(failures.size() - 1));
                    }
                }
                c.limit.add(c.direct ? HostLimits.directCopy(source, scratch, c.bytes, depth) : HostLimits.durableCopy(source, scratch, c.bytes));
                Files.deleteIfExists(scratch);
                System.out.printf("round %d %-10s %-20s QEMU %7.3f s  Strata %7.3f s  limit %7.3f s%n", r + 1, mode(c.direct),
                        c.kind.label(), last(c.qemu).ns / 1e9, last(c.strata).ns / 1e9, c.limit.get(c.limit.size() - 1) / 1e9);
            }
        }
        for (boolean direct : o.modes) {
            printTable(cells.values().stream().filter(c -> c.direct == direct).toList(), direct, depth, o.rounds);
        }
        System.out.printf("%s, load average %s at the end; %d of %d results verified against the pristine chain%n",
                Instant.now().truncatedTo(ChronoUnit.SECONDS), loadAverage(), 2 * o.rounds * cells.size() - failures.size(),
                2 * o.rounds * cells.size());
        if (!failures.isEmpty()) {
            throw new IllegalStateException(failures.size() + " results failed to verify: " + String.join("; ", failures));
        }
    }

    private static Sample runQemu(Cell c, Path run) throws IOException, InterruptedException {
        QemuJobRunner.Timed t = QemuJobRunner.timeOnRootNode(run.resolve("L2.qcow2"), c.direct, run, c.kind.qmpCommand(),
                c.kind.qmpArguments(run), c.kind.goesReady());
        return new Sample(t.ns(), t.cpuNs());
    }

    private static Sample runStrata(Cell c, Path run) throws InterruptedException {
        long cpu0 = processCpuNs();
        long ns = StrataJobRunner.run(c.kind, run, -1, 70, c.direct).totalNs();
        return new Sample(ns, processCpuNs() - cpu0);
    }

    /** The job's JIT warm-up: each job, each mode, twice on a small chain of the same shape. */
    private static void warmUp(Options o) throws Exception {
        Path warm = Files.createDirectories(o.dir.resolve("warmup"));
        BenchChains.build(warm, 64L << 20, new double[] {0.5, 0.2, 0.1}, 64 << 10, 1);
        for (boolean direct : o.modes) {
            for (JobKind k : o.kinds) {
                for (int i = 0; i < 2; i++) {
                    StrataJobRunner.run(k, JobsBench.freshChain(warm, "w"), -1, 70, direct);
                }
            }
        }
    }

    /** Null when {@code result} reads exactly like {@code pristine} (qemu-img compare), else what differs. */
    private static String verify(Path pristine, Path result) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", pristine.toString(), result.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            return "qemu-img compare did not finish";
        }
        return p.exitValue() == 0 ? null : "qemu-img compare exit " + p.exitValue() + ": " + out;
    }

    private static void printTable(List<Cell> cells, boolean direct, int depth, int rounds) {
        System.out.printf("%ncache=%s, medians of %d rounds; limit = %s; MB = 10^6 bytes of data the job copies%n", mode(direct), rounds,
                direct ? "O_DIRECT copy of the same bytes at queue depth " + depth : "durable copy of the same bytes (page-cached source, "
                        + "buffered writes, fdatasync)");
        System.out.println("| job | MB | QEMU s | QEMU MB/s | Strata s | Strata MB/s | Strata/QEMU | limit s | limit MB/s "
                + "| Strata % of limit | CPU s/GiB QEMU | CPU s/GiB Strata | CPU Strata/QEMU |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        List<String> missed = new ArrayList<>();
        for (Cell c : cells) {
            long q = median(c.qemu.stream().mapToLong(Sample::ns).toArray());
            long s = median(c.strata.stream().mapToLong(Sample::ns).toArray());
            long l = median(c.limit.stream().mapToLong(Long::longValue).toArray());
            double qCpu = median(c.qemu.stream().mapToLong(Sample::cpuNs).toArray()) / 1e9 / (c.bytes / GIB);
            double sCpu = median(c.strata.stream().mapToLong(Sample::cpuNs).toArray()) / 1e9 / (c.bytes / GIB);
            double ratio = (double) q / s;
            double ofLimit = 100.0 * l / s;
            double cpuRatio = qCpu == 0 ? Double.NaN : sCpu / qCpu;
            System.out.printf("| %s | %.0f | %.3f | %.0f | %.3f | %.0f | %.2fx | %.3f | %.0f | %.0f %% | %.2f | %.2f | %.2fx |%n",
                    c.kind.label(), c.bytes / MB, q / 1e9, rate(c.bytes, q), s / 1e9, rate(c.bytes, s), ratio, l / 1e9,
                    rate(c.bytes, l), ofLimit, qCpu, sCpu, cpuRatio);
            double ratioTarget = direct ? 2.0 : 1.0;
            double limitTarget = direct ? 70 : 85;
            if (ratio < ratioTarget) {
                missed.add(String.format("%s Strata/QEMU %.2fx < %.1fx", c.kind.label(), ratio, ratioTarget));
            }
            if (ofLimit < limitTarget) {
                missed.add(String.format("%s %.0f %% of the limit < %.0f %%", c.kind.label(), ofLimit, limitTarget));
            }
            if (cpuRatio > 1.5) {
                missed.add(String.format("%s CPU %.2fx QEMU's > 1.5x", c.kind.label(), cpuRatio));
            }
        }
        System.out.println("targets (" + (direct ? ">= 2.0x QEMU, >= 70 %" : ">= 1.0x QEMU, >= 85 %") + " of the limit, CPU <= 1.5x QEMU's): "
                + (missed.isEmpty() ? "all met" : "NOT met: " + String.join("; ", missed)));
    }

    private static String key(JobKind k, boolean direct) {
        return mode(direct) + "/" + k.name();
    }

    private static String mode(boolean direct) {
        return direct ? "none" : "writeback";
    }

    private static Sample last(List<Sample> l) {
        return l.get(l.size() - 1);
    }

    private static long median(long[] v) {
        return StreamBench.median(v);
    }

    private static double rate(long bytes, long ns) {
        return bytes / MB / (ns / 1e9);
    }

    private static long processCpuNs() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The command line. */
    private record Options(Path dir, long sizeMiB, int rounds, List<Boolean> modes, List<JobKind> kinds) {

        static Options parse(String[] args) {
            Path dir = Path.of("target/jobs-limit");
            long size = 1024;
            int rounds = 5;
            List<Boolean> modes = List.of(false, true);
            List<JobKind> kinds = List.of(JobKind.values());
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.startsWith("--") && i + 1 >= args.length) {
                    throw new IllegalArgumentException(a + " needs a value");
                }
                switch (a) {
                    case "--size" -> size = positive(args[++i], a);
                    case "--rounds" -> rounds = (int) positive(args[++i], a);
                    case "--modes" -> modes = Arrays.stream(args[++i].split(",")).map(m -> switch (m.trim()) {
                        case "writeback" -> false;
                        case "none" -> true;
                        default -> throw new IllegalArgumentException("--modes takes writeback and/or none, not '" + m + "'");
                    }).distinct().toList();
                    case "--jobs" -> {
                        List<String> wanted = Arrays.stream(args[++i].split(",")).map(String::trim).toList();
                        kinds = Arrays.stream(JobKind.values()).filter(k -> wanted.stream().anyMatch(w -> k.label().startsWith(w))).toList();
                        if (kinds.isEmpty()) {
                            throw new IllegalArgumentException("--jobs matches none of stream, commit intermediate, commit active, "
                                    + "mirror full, backup full");
                        }
                    }
                    default -> {
                        if (a.startsWith("--")) {
                            throw new IllegalArgumentException("unknown option " + a
                                    + " (--size MiB, --rounds N, --modes writeback,none, --jobs stream,commit,mirror,backup)");
                        }
                        dir = Path.of(a);
                    }
                }
            }
            return new Options(dir.toAbsolutePath(), size, rounds, modes, kinds);
        }

        private static long positive(String v, String option) {
            try {
                long n = Long.parseLong(v);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(option + " takes a positive number, not '" + v + "'");
        }
    }
}
