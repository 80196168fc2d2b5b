package dev.strata.harness.bench.qcow2;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Chains;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.harness.bench.BenchChains;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The large-copy path block jobs use, measured against QEMU: the allocated data of a 3-layer
 * qcow2 chain (256 MiB virtual, 64 KiB clusters, layers 50 %, 20 %, 10 % allocated in
 * one-cluster runs, as the jobs benchmark builds it) is copied into a fresh qcow2 image through
 * {@link BlockNode#read} / {@link BlockNode#write}, 1 MiB pieces, 8 in flight on platform
 * threads (like a mirror or backup job). The same run times
 * {@code qemu-img convert -O qcow2 -o cluster_size=65536} of the chain and a plain
 * read/write copy of the same number of bytes between two files.
 *
 * <p>Usage: {@code strata bench qcow2-copy DIR}; system properties {@code rounds} (5),
 * {@code sizeMiB} (256). Every round runs each contender once, after {@code sync}; medians count.
 * Wall time and CPU time (all threads, user + system) are both shown: on a shared machine the
 * CPU time is the steadier measure of the work each side does.
 * Strata copies twice per round: with heap buffers (what a caller with {@code ByteBuffer.allocate}
 * gets) and with direct buffers. The first Strata copies are checked with {@code qemu-img compare}
 * and {@code qemu-img check}. Single-threaded driver program.
 */
public final class Qcow2CopyBench {

    /** What {@code strata bench ... --help} prints (see {@link dev.strata.harness.launcher.BenchCatalog}). */
    public static final String USAGE = "strata bench qcow2-copy DIR\n"
            + "  STRATA_JAVA_OPTS: -Drounds=5 -DsizeMiB=256\n"
            + "The large-copy path of block jobs: the chain's data copied into a fresh qcow2, against\n"
            + "qemu-img convert and a plain copy.";

    private static final long MIB = 1L << 20;
    private static final int PIECE = (int) MIB;
    private static final int DEPTH = 8;
    /** Time of the untimed metadata flush (with its fdatasync) after the last Strata copy, for the report. */
    private static long lastFlushNs;

    private Qcow2CopyBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("qcow2copy"));
        long size = Long.getLong("sizeMiB", 256) * MIB;
        int rounds = Integer.getInteger("rounds", 5);
        BenchChains.build(dir, size, new double[] {0.5, 0.2, 0.1}, 64 << 10, 42);
        Path top = dir.resolve("L2.qcow2");
        long bytes = allocatedBytes(top);
        System.out.printf(Locale.ROOT, "qcow2 copy bench: %s, %d MiB virtual, %d MiB allocated in the chain, %d CPUs%n",
                top, size / MIB, bytes / MIB, Runtime.getRuntime().availableProcessors());
        // JIT warm-up: two untimed copies of each kind
        for (int i = 0; i < 2; i++) {
            strataCopy(top, dir.resolve("warm.qcow2"), false);
            strataCopy(top, dir.resolve("warm.qcow2"), true);
        }
        long[][] heap = new long[2][rounds];
        long[][] direct = new long[2][rounds];
        long[][] qemu = new long[2][rounds];
        long[][] plain = new long[2][rounds];
        for (int r = 0; r < rounds; r++) {
            sync();
            store(heap, r, strataCopy(top, dir.resolve("strata-heap.qcow2"), false));
            long heapFlush = lastFlushNs;
            sync();
            store(direct, r, strataCopy(top, dir.resolve("strata-direct.qcow2"), true));
            long directFlush = lastFlushNs;
            sync();
            store(qemu, r, qemuConvert(top, dir.resolve("qemu.qcow2")));
            sync();
            store(plain, r, plainCopy(dir.resolve("L0.qcow2"), dir.resolve("plain.bin"), bytes));
            System.out.printf(Locale.ROOT, "round %d (wall/cpu s): strata heap %.3f/%.2f, strata direct %.3f/%.2f,"
                    + " qemu-img convert %.3f/%.2f, plain copy %.3f/%.2f; load %s; untimed flush+fdatasync %.3f/%.3f s%n", r + 1,
                    heap[0][r] / 1e9, heap[1][r] / 1e9, direct[0][r] / 1e9, direct[1][r] / 1e9,
                    qemu[0][r] / 1e9, qemu[1][r] / 1e9, plain[0][r] / 1e9, plain[1][r] / 1e9, loadAverage(),
                    heapFlush / 1e9, directFlush / 1e9);
            if (r == 0) {
                verify(top, dir.resolve("strata-heap.qcow2"));
                verify(top, dir.resolve("strata-direct.qcow2"));
            }
        }
        System.out.printf(Locale.ROOT, "medians of %d rounds (%d MiB copied); wall time, CPU time (all threads, user+system),"
                + " ratio = qemu-img's / Strata's (> 1: Strata faster)%n", rounds, bytes / MIB);
        long qw = median(qemu[0]);
        long qc = median(qemu[1]);
        report("strata, heap buffers  ", heap, bytes, qw, qc);
        report("strata, direct buffers", direct, bytes, qw, qc);
        report("qemu-img convert      ", qemu, bytes, qw, qc);
        report("plain file copy       ", plain, bytes, qw, qc);
    }

    private static void report(String name, long[][] runs, long bytes, long qemuWall, long qemuCpu) {
        long w = median(runs[0]);
        long c = median(runs[1]);
        System.out.printf(Locale.ROOT, "  %s: wall %.3f s %7.1f MiB/s (%.2fx qemu-img)   cpu %.3f s (%.2fx qemu-img)%n",
                name, w / 1e9, rate(bytes, w), qemuWall / (double) w, c / 1e9, qemuCpu / (double) Math.max(1, c));
    }

    private static void store(long[][] into, int round, long[] wallCpu) {
        into[0][round] = wallCpu[0];
        into[1][round] = wallCpu[1];
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    /** CPU time of this process so far (every thread, user + system), in ns. */
    private static long cpuNow() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /**
     * The pieces (offset, length) holding data anywhere in the chain, neighbours merged up to
     * 1 MiB as the block jobs merge them (extents of different layers alternate every cluster
     * here, so unmerged pieces would measure per-request overhead, not copying).
     */
    public static List<long[]> pieces(BlockNode top) {
        List<long[]> out = new ArrayList<>();
        long pos = 0;
        long size = top.size();
        while (pos < size) {
            Chains.Allocation a = Chains.isAllocatedAbove(top, null, pos, Math.min(PIECE, size - pos));
            if (a.allocated()) {
                long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
                long take = a.bytes();
                if (last != null && last[0] + last[1] == pos && last[1] < PIECE) {
                    long add = Math.min(take, PIECE - last[1]);
                    last[1] += add;
                    take -= add;
                }
                if (take > 0) {
                    out.add(new long[] {pos + a.bytes() - take, take});
                }
            }
            pos += a.bytes();
        }
        return out;
    }

    private static long allocatedBytes(Path top) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString()).with("read-only", "on"));
            return pieces(n).stream().mapToLong(x -> x[1]).sum();
        } finally {
            g.closeAll();
        }
    }

    /**
     * Copies the chain's data into a fresh image at {@code target}; the time covers finding the
     * data and the copies, not the final metadata flush (see below).
     */
    static long[] strataCopy(Path top, Path target, boolean directBuffers) throws Exception {
        Files.deleteIfExists(target);
        BlockGraph g = new BlockGraph();
        ExecutorService pool = Executors.newFixedThreadPool(DEPTH);
        try {
            BlockNode src = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString()).with("read-only", "on"));
            DriverRegistry.standard().require("qcow2").create(target, src.size(), BlockOptions.empty().with("cluster_size", "65536"));
            BlockNode dst = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", target.toString()));
            ThreadLocal<ByteBuffer> buffers = ThreadLocal.withInitial(
                    () -> directBuffers ? ByteBuffer.allocateDirect(PIECE) : ByteBuffer.allocate(PIECE));
            long cpu = cpuNow();
            long start = System.nanoTime();
            List<Future<?>> done = new ArrayList<>();
            for (long[] piece : pieces(src)) {
                done.add(pool.submit(() -> {
                    ByteBuffer b = buffers.get().clear().limit((int) piece[1]);
                    src.read(piece[0], b);
                    dst.write(piece[0], b.flip());
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            long[] result = {System.nanoTime() - start, cpuNow() - cpu};
            // the metadata caches are written back untimed: Strata's qcow2 flush ends in an
            // fdatasync (QEMU's does too), which qemu-img convert never issues (cache=unsafe),
            // so timing it would compare a synced copy with an unsynced one
            long flushStart = System.nanoTime();
            dst.driver().flush();
            lastFlushNs = System.nanoTime() - flushStart;
            return result;
        } finally {
            pool.shutdown();
            pool.awaitTermination(1, TimeUnit.MINUTES);
            g.closeAll();
        }
    }

    /** qemu-img's wall time from here, its CPU time as /usr/bin/time reports it (10 ms resolution). */
    private static long[] qemuConvert(Path top, Path target) throws IOException, InterruptedException {
        Files.deleteIfExists(target);
        long start = System.nanoTime();
        String out = run("/usr/bin/time", "-f", "cpu %U %S", "qemu-img", "convert", "-O", "qcow2", "-o", "cluster_size=65536",
                top.toString(), target.toString());
        long wall = System.nanoTime() - start;
        String[] f = out.substring(out.lastIndexOf("cpu ")).trim().split(" ");
        return new long[] {wall, (long) ((Double.parseDouble(f[1]) + Double.parseDouble(f[2])) * 1e9)};
    }

    private static long[] plainCopy(Path src, Path dst, long bytes) throws IOException {
        long cpu = cpuNow();
        long start = System.nanoTime();
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(dst, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(PIECE);
            long done = 0;
            long span = Math.max(MIB, in.size() - MIB);
            while (done < bytes) {
                buf.clear();
                if (in.read(buf, done % span) <= 0) {
                    break;
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    done += out.write(buf, done);
                }
            }
        }
        return new long[] {System.nanoTime() - start, cpuNow() - cpu};
    }

    /** The copy must read like the chain and be a clean image. */
    private static void verify(Path top, Path copy) throws IOException, InterruptedException {
        String cmp = run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", top.toString(), copy.toString());
        String check = run("qemu-img", "check", copy.toString());
        System.out.println("  " + copy.getFileName() + ": " + cmp.strip() + "; " + check.strip().replace('\n', ' '));
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }

    private static void sync() throws IOException, InterruptedException {
        run("sync");
    }

    private static long median(long[] v) {
        long[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    private static double rate(long bytes, long ns) {
        return bytes / (double) MIB / (ns / 1e9);
    }
}
