package dev.strata.harness.bench.jobs;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Chains;
import dev.strata.harness.bench.BenchChains;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * Commit, mirror and backup benchmark: the 3-layer qcow2 chain of {@link StreamBench} (64 KiB
 * clusters; layers ~50 %/20 %/10 % allocated), and on identical copies of it in one run, Strata
 * against QEMU 7.2 for: intermediate {@code block-commit} (the middle layer into the base),
 * active {@code block-commit} (to READY, then complete), {@code drive-mirror sync=full} to a new
 * qcow2 (to READY, then complete) and {@code drive-backup sync=full} to a new qcow2. Medians of
 * {@code reps} runs; then guest 4 KiB random I/O (8 deep) idle and during each Strata job; then
 * mirror and active commit under a guest writing {@code -DguestIops} (default 5,000) 4 KiB
 * requests per second: do they reach READY and complete. {@code -Dparts=speed,guest,converge}
 * and {@code -Dkinds=commit,mirror,backup} (label prefixes) pick a subset.
 *
 * <p>Usage: {@code JobsBench [workdir] [sizeMiB]} (default {@code target/jobs-bench}, 256 MiB so
 * the whole program takes a few minutes; 1024 for the 1 GiB chain); {@code -Dreps=N}
 * (default 3). Single-threaded driver.
 */
public final class JobsBench {

    /** What {@code strata bench ... --help} prints (see {@link dev.strata.harness.launcher.BenchCatalog}). */
    public static final String USAGE = "strata bench jobs [WORKDIR] [SIZE_MIB]      (default target/jobs-bench, 256)\n"
            + "  STRATA_JAVA_OPTS: -Dreps=N (3), -Dparts=speed,guest,converge, -Dkinds=commit,mirror,backup,\n"
            + "                    -DguestIops=5000, -DguestReps=3\n"
            + "Commit, mirror and backup against QEMU 7.2 on the 3-layer chain; the guest's IOPS during each\n"
            + "unthrottled job; mirror and active commit converging under a 5,000 IOPS writer.";

    private JobsBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/jobs-bench").toAbsolutePath();
        long size = (args.length > 1 ? Long.parseLong(args[1]) : 256) << 20;
        int reps = Integer.getInteger("reps", 3);
        Files.createDirectories(dir);
        System.out.printf("chain: %d MiB virtual, qcow2, 64 KiB clusters, layers 50%%/20%%/10%% allocated; %d runs%n",
                size >> 20, reps);
        BenchChains.build(dir, size, new double[] {0.5, 0.2, 0.1}, 64 << 10, 42);
        // JIT warm-up on a small chain of the same shape, so the timed runs measure steady state
        Path warmDir = Files.createDirectories(dir.resolve("warmup"));
        BenchChains.build(warmDir, 64L << 20, new double[] {0.5, 0.2, 0.1}, 64 << 10, 1);
        for (JobKind kind : JobKind.values()) {
            for (int i = 0; i < 2; i++) {
                StrataJobRunner.time(kind, freshChain(warmDir, "w"));
            }
        }
        // -Dparts=speed,guest,converge (default all three) runs a subset
        String parts = System.getProperty("parts", "speed,guest,converge");
        String summary = "";
        for (JobKind kind : parts.contains("speed") ? kinds() : new JobKind[0]) {
            long bytes = dataBytes(dir, kind);
            long[] qemu = new long[reps];
            long[] strata = new long[reps];
            for (int r = 0; r < reps; r++) {
                // each contender gets its own fresh copy of the chain, written back and in the page cache
                Path q = freshChain(dir, "qemu");
                qemu[r] = QemuJobRunner.timeJob(q.resolve("L2.qcow2"), q, kind.qmpCommand(), kind.qmpArguments(q), kind.goesReady());
                Path s = freshChain(dir, "strata");
                strata[r] = StrataJobRunner.time(kind, s);
                System.out.printf("%-20s run %d: strata %.3f s, qemu %.3f s%n", kind.label(), r + 1, strata[r] / 1e9, qemu[r] / 1e9);
            }
            long sNs = StreamBench.median(strata);
            long qNs = StreamBench.median(qemu);
            double ratio = (double) qNs / sNs;
            summary += String.format("%-20s %6d MiB  strata %8.3f s %8.1f MiB/s  qemu %8.3f s %8.1f MiB/s  ratio %.2f (target >= 2.0: %s)%n",
                    kind.label(), bytes >> 20, sNs / 1e9, StreamBench.rate(bytes, sNs), qNs / 1e9, StreamBench.rate(bytes, qNs),
                    ratio, ratio >= 2.0 ? "met" : "NOT met");
        }
        if (parts.contains("speed")) {
            System.out.println("medians of " + reps + " runs (MiB = data the job copies):");
            System.out.print(summary);
        }
        if (parts.contains("guest")) {
            guestLoad(dir);
        }
        if (parts.contains("converge")) {
            convergence(dir);
        }
    }

    /**
     * Guest 4 KiB random I/O (8 deep, 70 % reads, unthrottled) during each Strata job at unlimited
     * speed, against the same running load in the second before and the second after the job;
     * {@code -DguestReps} runs (3) per job and their median share.
     */
    private static void guestLoad(Path dir) throws Exception {
        int reps = Integer.getInteger("guestReps", 3);
        System.out.println("guest 4 KiB random I/O (8 deep, 70% reads, unthrottled); idle = the second before and the second after each job:");
        String medians = "";
        for (JobKind kind : kinds()) {
            // the share swings by 2x between runs on a shared host: several runs, the median counts
            double[] shares = new double[reps];
            for (int r = 0; r < reps; r++) {
                StrataJobRunner.Outcome o = StrataJobRunner.run(kind, freshChain(dir, "load"), 0, 70);
                print(kind, o);
                shares[r] = o.share();
            }
            java.util.Arrays.sort(shares);
            medians += String.format("  %-20s median guest share %3.0f%% of idle over %d runs (target >= 70%%: %s)%n", kind.label(),
                    100 * shares[reps / 2], reps, shares[reps / 2] >= 0.7 ? "met" : "NOT met");
        }
        System.out.print(medians);
    }

    /** The jobs to run: all, or those whose label starts with one of {@code -Dkinds=commit,backup,...}. */
    private static JobKind[] kinds() {
        String[] wanted = System.getProperty("kinds", "").split(",");
        return java.util.Arrays.stream(JobKind.values())
                .filter(k -> java.util.Arrays.stream(wanted).anyMatch(w -> k.label().startsWith(w.trim())))
                .toArray(JobKind[]::new);
    }

    /** Issue 7's convergence case: mirror and active commit under a guest writing 5,000 IOPS of 4 KiB. */
    private static void convergence(Path dir) throws Exception {
        long iops = Long.getLong("guestIops", 5000);
        System.out.printf("guest 4 KiB random writes at %d IOPS (8 deep); idle = the second before and after each job:%n", iops);
        for (JobKind kind : new JobKind[] {JobKind.MIRROR_FULL, JobKind.COMMIT_ACTIVE}) {
            print(kind, StrataJobRunner.run(kind, freshChain(dir, "load"), iops, 0));
        }
    }

    private static void print(JobKind kind, StrataJobRunner.Outcome o) {
        String what;
        if (o.readyNs() < 0) {
            what = "did NOT reach READY within " + Long.getLong("readyWaitS", 60) + " s (cancelled)";
        } else if (kind.goesReady()) {
            what = String.format("READY after %.3f s, completed after %.3f s", o.readyNs() / 1e9, o.totalNs() / 1e9);
        } else {
            what = String.format("took %.3f s", o.totalNs() / 1e9);
        }
        System.out.printf("  %-20s idle %8.0f IOPS p99 %5.0f us; during %8.0f IOPS (%3.0f%% of idle) p99 %6.0f us; %s%n",
                kind.label(), o.idle()[0], o.idle()[1], o.during()[0], 100 * o.share(), o.during()[1], what);
    }

    /** Copies L0..L2 of {@code dir} into {@code dir/name} (backing names are relative) and settles the cache. */
    static Path freshChain(Path dir, String name) throws Exception {
        Path sub = Files.createDirectories(dir.resolve(name));
        try (var old = Files.list(sub)) {
            for (Path p : old.toList()) {
                Files.delete(p);
            }
        }
        for (String layer : List.of("L0.qcow2", "L1.qcow2", "L2.qcow2")) {
            Files.copy(dir.resolve(layer), sub.resolve(layer), StandardCopyOption.REPLACE_EXISTING);
        }
        StreamBench.settle(sub);
        return sub;
    }

    /** Bytes the job has to copy: allocated between its top and its base (exclusive). */
    static long dataBytes(Path dir, JobKind kind) {
        if (kind == JobKind.STREAM) {
            return StreamBench.bytesToStream(dir.resolve("L2.qcow2"));
        }
        BlockGraph g = new BlockGraph();
        try {
            BlockNode top = g.open(BlockOptions.empty().with("driver", "qcow2")
                    .with("file", dir.resolve("L2.qcow2").toString()).with("read-only", "on"));
            BlockNode base = top.backing().backing();
            return switch (kind) {
                case COMMIT_INTERMEDIATE -> allocatedAbove(top.backing(), base);
                case COMMIT_ACTIVE -> allocatedAbove(top, base);
                case MIRROR_FULL, BACKUP_FULL -> allocatedAbove(top, null);
                case STREAM -> throw new IllegalStateException("counted above");
            };
        } finally {
            g.closeAll();
        }
    }

    /** Bytes allocated anywhere in the chain of the qcow2 image {@code top}: what a {@code sync=full} mirror copies. */
    public static long allocatedBytes(Path top) {
        BlockGraph g = new BlockGraph();
        try {
            return allocatedAbove(g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString())
                    .with("read-only", "on")), null);
        } finally {
            g.closeAll();
        }
    }

    private static long allocatedAbove(BlockNode top, BlockNode base) {
        long total = 0;
        for (long off = 0; off < top.size(); ) {
            Chains.Allocation a = Chains.isAllocatedAbove(top, base, off, top.size() - off);
            if (a.allocated()) {
                total += a.bytes();
            }
            off += a.bytes();
        }
        return total;
    }

    /**
     * Opens {@code top} as drive {@code drive0} (write cache on), the drive every Strata job runs
     * on; {@code direct}: the whole chain with {@code cache.direct=on} (QEMU's cache=none).
     */
    static BlockBackend openDrive(BlockGraph g, Path top, boolean direct) {
        BlockNode root = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString())
                .with("cache.direct", direct ? "on" : "off"));
        return g.createBackend("drive0", root, true);
    }
}
