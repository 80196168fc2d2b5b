package dev.strata.harness.bench.jobs;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Chains;
import dev.strata.harness.bench.BenchChains;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.stream.Stream;
import dev.strata.jobs.stream.StreamJob;
import dev.strata.jobs.stream.StreamRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * Stream benchmark: a 3-layer qcow2 chain (64 KiB clusters; base ~50 % allocated, middle ~20 %,
 * top ~10 %, in runs at random places), streamed into the top (a) by Strata, (b) by QEMU 7.2's
 * {@code block-stream} on an identical copy, and (c) a plain read/write copy of the same number of
 * bytes, all in one run; (d) the guest's IOPS during a stream against idle; then a 1 TiB chain
 * holding 64 MiB of data streamed by Strata.
 *
 * <p>Usage: {@code StreamBench [workdir] [sizeGiB] [runBytes]} (run = length of each allocated
 * piece, default one 64 KiB cluster); {@code -Dreps=N}. Prints throughputs and ratios.
 */
public final class StreamBench {

    /** What {@code strata bench ... --help} prints (see {@link dev.strata.harness.launcher.BenchCatalog}). */
    public static final String USAGE = "strata bench stream [WORKDIR] [SIZE_GIB] [RUN_BYTES]      (default target/stream-bench, 1, 65536)\n"
            + "  STRATA_JAVA_OPTS: -Dreps=N (3)\n"
            + "Stream of the 3-layer chain against QEMU 7.2 and a plain copy; the guest during a stream; a\n"
            + "1 TiB sparse chain.";

    private static final long MIB = 1 << 20;

    private StreamBench() {
    }

    public static void main(String[] args) throws Exception {
        // -Dreps=N repetitions (default 3); the medians are reported
        Path dir = Path.of(args.length > 0 ? args[0] : "target/stream-bench").toAbsolutePath();
        long size = (args.length > 1 ? Long.parseLong(args[1]) : 1) << 30;
        int run = args.length > 2 ? Integer.parseInt(args[2]) : 64 << 10;
        Files.createDirectories(dir);
        System.out.printf("chain: %d MiB virtual, qcow2, 64 KiB clusters, layers 50%%/20%%/10%% allocated in runs of %d KiB%n",
                size >> 20, run >> 10);
        BenchChains.build(dir, size, new double[] {0.5, 0.2, 0.1}, run, 42);
        // JIT warm-up on a small chain of the same shape, so the runs measure steady state
        Path warmDir = Files.createDirectories(dir.resolve("warmup"));
        BenchChains.build(warmDir, 128 * MIB, new double[] {0.5, 0.2, 0.1}, run, 1);
        for (int i = 0; i < 3; i++) {
            Files.copy(warmDir.resolve("L2.qcow2"), warmDir.resolve("w.qcow2"), StandardCopyOption.REPLACE_EXISTING);
            timeStrata(warmDir.resolve("w.qcow2"));
        }
        long toCopy = bytesToStream(dir.resolve("L2.qcow2"));
        System.out.printf("bytes to copy into the top: %d MiB%n", toCopy >> 20);
        int reps = Integer.getInteger("reps", 3);
        long[] qemuRuns = new long[reps];
        long[] strataRuns = new long[reps];
        long[] copyRuns = new long[reps];
        for (int r = 0; r < reps; r++) {
            // each contender starts from a fresh copy of the top, no dirty pages pending and a warm cache
            Path qemuTop = freshTop(dir, "top-qemu.qcow2");
            qemuRuns[r] = QemuJobRunner.timeStream(qemuTop, dir);
            Path strataTop = freshTop(dir, "top-strata.qcow2");
            strataRuns[r] = timeStrata(strataTop);
            settle(dir);
            copyRuns[r] = plainCopy(dir.resolve("L0.qcow2"), dir.resolve("plain-copy.bin"), toCopy);
            System.out.printf("run %d: strata %.3f s, qemu %.3f s, plain copy %.3f s%n", r + 1,
                    strataRuns[r] / 1e9, qemuRuns[r] / 1e9, copyRuns[r] / 1e9);
        }
        long strataNs = median(strataRuns);
        long qemuNs = median(qemuRuns);
        long copyNs = median(copyRuns);
        System.out.println("medians of " + reps + " runs:");
        double strata = rate(toCopy, strataNs);
        double qemu = rate(toCopy, qemuNs);
        double copy = rate(toCopy, copyNs);
        System.out.printf("strata stream : %8.3f s  %8.1f MiB/s copied  (%8.1f MiB/s of virtual size)%n", strataNs / 1e9, strata, rate(size, strataNs));
        System.out.printf("qemu 7.2      : %8.3f s  %8.1f MiB/s copied  (%8.1f MiB/s of virtual size)%n", qemuNs / 1e9, qemu, rate(size, qemuNs));
        System.out.printf("plain copy    : %8.3f s  %8.1f MiB/s%n", copyNs / 1e9, copy);
        System.out.printf("ratio strata/qemu = %.2f (target >= 2.0); strata/plain copy = %.0f%% (target >= 50%%)%n",
                strata / qemu, 100 * strata / copy);

        guestLoadDuringStream(dir, reps);

        Path big = dir.resolve("tib");
        Files.createDirectories(big);
        BenchChains.buildSparse(big, 1L << 40, 64 * MIB);
        settle(big);
        long tibNs = timeStrata(big.resolve("L2.qcow2"));
        System.out.printf("1 TiB virtual chain with 64 MiB allocated: streamed in %.3f s (target < 5 s)%n", tibNs / 1e9);
    }

    static long median(long[] v) {
        long[] c = v.clone();
        java.util.Arrays.sort(c);
        return c[c.length / 2];
    }

    private static Path freshTop(Path dir, String name) throws IOException, InterruptedException {
        Path p = dir.resolve(name);
        Files.copy(dir.resolve("L2.qcow2"), p, StandardCopyOption.REPLACE_EXISTING);
        settle(dir);
        return p;
    }

    /** Writes back dirty pages (so no contender pays for another's writeback) and warms the cache. */
    static void settle(Path dir) throws IOException, InterruptedException {
        new ProcessBuilder("sync").inheritIO().start().waitFor();
        warm(dir);
    }

    static double rate(long bytes, long ns) {
        return bytes / (double) MIB / (ns / 1e9);
    }

    /**
     * (d): guest IOPS and p99 latency idle (2 s before and after) and during an unlimited stream
     * of the same chain, {@code reps} times for each of two guests: one writing all over the disk,
     * one keeping to a 64 MiB working set. Why both: at ~150k writes/s the whole-disk guest
     * allocates nearly every cluster of the top itself (a 64 KiB copy-on-write per first write)
     * within its 2 s idle phase, so the stream finds little left to copy and its window is mostly
     * the final flush of the guest's own dirty data. The working-set guest leaves the stream its
     * ~550 MiB to copy, so its window measures what the copies cost the guest.
     */
    private static void guestLoadDuringStream(Path dir, int reps) throws Exception {
        for (long span : new long[] {0, 64 * MIB}) {
            String who = span == 0 ? "guest over the whole disk" : "guest in a " + (span >> 20) + " MiB working set";
            double[] shares = new double[reps];
            for (int r = 0; r < reps; r++) {
                shares[r] = guestShare(dir, span, who);
            }
            double[] sorted = shares.clone();
            java.util.Arrays.sort(sorted);
            System.out.printf("%s: median guest IOPS during the stream %.0f%% of idle (target >= 70%%)%n", who, sorted[reps / 2]);
        }
    }

    /** One stream under a running guest load; prints the figures and returns the during/idle IOPS share in %. */
    private static double guestShare(Path dir, long span, String who) throws Exception {
        Path top = freshTop(dir, "top-load.qcow2");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode root = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString()));
            BlockBackend drive = g.createBackend("drive0", root, BlockBackend.CacheMode.WRITEBACK);
            // one running load; idle = the 2 s before the stream and the 2 s after it (the host's
            // load drifts too much for a reference taken minutes apart)
            GuestLoad load = new GuestLoad(drive, 8, 0, 70, span).start();
            GuestLoad.Mark m0 = load.mark();
            Thread.sleep(2000);
            GuestLoad.Mark m1 = load.mark();
            long start = System.nanoTime();
            StreamJob job = Stream.start(new JobManager(), g, StreamRequest.of("drive0", "drive0", null, 0));
            job.awaitStatus(JobStatus.NULL, Duration.ofMinutes(30));
            long ns = System.nanoTime() - start;
            GuestLoad.Mark m2 = load.mark();
            Thread.sleep(2000);
            GuestLoad.Mark m3 = load.mark();
            load.halt();
            double[] before = load.window(m0, m1, m2, m3);
            double[] during = load.window(m1, m2);
            double share = 100 * during[0] / before[0];
            System.out.printf("%s, 4 KiB random I/O (8 deep, 70%% reads): idle (2 s before and after) %.0f IOPS p99 %.0f us;"
                    + " during stream %.0f IOPS p99 %.0f us (%.0f%% of idle IOPS); stream under load took %.3f s%n",
                    who, before[0], before[1], during[0], during[1], share, ns / 1e9);
            return share;
        } finally {
            g.closeAll();
        }
    }

    /** Bytes allocated below the top and not hidden by it: what a whole-chain stream copies. */
    static long bytesToStream(Path top) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode t = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString()).with("read-only", "on"));
            long total = 0;
            long off = 0;
            while (off < t.size()) {
                var own = t.blockStatus(off, t.size() - off);
                if (own.state().allocated()) {
                    off = own.end();
                    continue;
                }
                Chains.Allocation a = Chains.isAllocatedAbove(t.backing(), null, off, own.length());
                if (a.allocated()) {
                    total += a.bytes();
                }
                off += a.bytes();
            }
            return total;
        } finally {
            g.closeAll();
        }
    }

    static long timeStrata(Path top) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode root = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString()));
            g.createBackend("drive0", root, BlockBackend.CacheMode.WRITEBACK);
            JobManager jobs = new JobManager();
            long start = System.nanoTime();
            StreamJob job = Stream.start(jobs, g, StreamRequest.of("drive0", "drive0", null, 0));
            if (!job.awaitStatus(JobStatus.NULL, Duration.ofMinutes(30))) {
                throw new IllegalStateException("stream did not finish");
            }
            long ns = System.nanoTime() - start;
            if (root.backing() != null) {
                throw new IllegalStateException("stream failed: " + job.error());
            }
            return ns;
        } finally {
            g.closeAll();
        }
    }

    /** Reads {@code bytes} from {@code src} and writes them to a new file, 1 MiB at a time. */
    static long plainCopy(Path src, Path dst, long bytes) throws IOException {
        long start = System.nanoTime();
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(dst, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocate((int) MIB);
            long done = 0;
            while (done < bytes) {
                buf.clear();
                if (in.read(buf, done % Math.max(MIB, in.size() - MIB)) <= 0) {
                    break;
                }
                buf.flip();
                done += buf.remaining();
                out.write(buf);
            }
        }
        return System.nanoTime() - start;
    }

    /** Reads every image once so each contender starts with the same (warm) page cache. */
    private static void warm(Path dir) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) MIB);
        try (var files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".qcow2")).toList()) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    while (ch.read(buf) > 0) {
                        buf.clear();
                    }
                }
            }
        }
    }
}
