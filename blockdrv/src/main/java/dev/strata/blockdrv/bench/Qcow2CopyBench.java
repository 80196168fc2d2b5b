package dev.strata.blockdrv.bench;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Chains;
import dev.strata.blockdrv.DriverRegistry;
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
import java.util.Random;
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
 * <p>Usage: {@code strata bench qcow2-copy DIR} (or {@code java -cp blockdrv/target/classes
 * dev.strata.blockdrv.bench.Qcow2CopyBench DIR}); system properties {@code rounds} (5),
 * {@code sizeMiB} (256). Every round runs each contender once, after {@code sync}; medians count.
 * Strata copies twice per round: with heap buffers (what a caller with {@code ByteBuffer.allocate}
 * gets) and with direct buffers. The first Strata copies are checked with {@code qemu-img compare}
 * and {@code qemu-img check}. Single-threaded driver program.
 */
public final class Qcow2CopyBench {

    private static final long MIB = 1L << 20;
    private static final int PIECE = (int) MIB;
    private static final int DEPTH = 8;

    private Qcow2CopyBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("qcow2copy"));
        long size = Long.getLong("sizeMiB", 256) * MIB;
        int rounds = Integer.getInteger("rounds", 5);
        buildChain(dir, size, new double[] {0.5, 0.2, 0.1}, 42);
        Path top = dir.resolve("L2.qcow2");
        long bytes = allocatedBytes(top);
        System.out.printf(Locale.ROOT, "qcow2 copy bench: %s, %d MiB virtual, %d MiB allocated in the chain, %d CPUs%n",
                top, size / MIB, bytes / MIB, Runtime.getRuntime().availableProcessors());
        // JIT warm-up: two untimed copies of each kind
        for (int i = 0; i < 2; i++) {
            strataCopy(top, dir.resolve("warm.qcow2"), false);
            strataCopy(top, dir.resolve("warm.qcow2"), true);
        }
        long[] heap = new long[rounds];
        long[] direct = new long[rounds];
        long[] qemu = new long[rounds];
        long[] plain = new long[rounds];
        for (int r = 0; r < rounds; r++) {
            sync();
            heap[r] = strataCopy(top, dir.resolve("strata-heap.qcow2"), false);
            sync();
            direct[r] = strataCopy(top, dir.resolve("strata-direct.qcow2"), true);
            sync();
            qemu[r] = qemuConvert(top, dir.resolve("qemu.qcow2"));
            sync();
            plain[r] = plainCopy(dir.resolve("L0.qcow2"), dir.resolve("plain.bin"), bytes);
            System.out.printf(Locale.ROOT, "round %d: strata heap %.3f s, strata direct %.3f s, qemu-img convert %.3f s, plain copy %.3f s%n",
                    r + 1, heap[r] / 1e9, direct[r] / 1e9, qemu[r] / 1e9, plain[r] / 1e9);
            if (r == 0) {
                verify(top, dir.resolve("strata-heap.qcow2"));
                verify(top, dir.resolve("strata-direct.qcow2"));
            }
        }
        long h = median(heap);
        long d = median(direct);
        long q = median(qemu);
        long p = median(plain);
        System.out.printf(Locale.ROOT, "medians of %d rounds (%d MiB copied):%n", rounds, bytes / MIB);
        System.out.printf(Locale.ROOT, "  strata, heap buffers   : %.3f s  %7.1f MiB/s  %.2fx qemu-img%n", h / 1e9, rate(bytes, h), q / (double) h);
        System.out.printf(Locale.ROOT, "  strata, direct buffers : %.3f s  %7.1f MiB/s  %.2fx qemu-img%n", d / 1e9, rate(bytes, d), q / (double) d);
        System.out.printf(Locale.ROOT, "  qemu-img convert       : %.3f s  %7.1f MiB/s%n", q / 1e9, rate(bytes, q));
        System.out.printf(Locale.ROOT, "  plain file copy        : %.3f s  %7.1f MiB/s%n", p / 1e9, rate(bytes, p));
    }

    /** The pieces (offset, length) of at most 1 MiB holding data anywhere in the chain. */
    private static List<long[]> pieces(BlockNode top) {
        List<long[]> out = new ArrayList<>();
        long pos = 0;
        long size = top.size();
        while (pos < size) {
            Chains.Allocation a = Chains.isAllocatedAbove(top, null, pos, Math.min(PIECE, size - pos));
            if (a.allocated()) {
                out.add(new long[] {pos, a.bytes()});
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
     * data, the copies and writing the target's metadata caches (not an fsync: qemu-img convert's
     * default cache mode does not sync either).
     */
    static long strataCopy(Path top, Path target, boolean directBuffers) throws Exception {
        Files.deleteIfExists(target);
        BlockGraph g = new BlockGraph();
        ExecutorService pool = Executors.newFixedThreadPool(DEPTH);
        try {
            BlockNode src = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", top.toString()).with("read-only", "on"));
            DriverRegistry.standard().require("qcow2").create(target, src.size(), BlockOptions.empty().with("cluster_size", "65536"));
            BlockNode dst = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", target.toString()));
            ThreadLocal<ByteBuffer> buffers = ThreadLocal.withInitial(
                    () -> directBuffers ? ByteBuffer.allocateDirect(PIECE) : ByteBuffer.allocate(PIECE));
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
            dst.driver().flush();
            return System.nanoTime() - start;
        } finally {
            pool.shutdown();
            pool.awaitTermination(1, TimeUnit.MINUTES);
            g.closeAll();
        }
    }

    private static long qemuConvert(Path top, Path target) throws IOException, InterruptedException {
        Files.deleteIfExists(target);
        long start = System.nanoTime();
        run("qemu-img", "convert", "-O", "qcow2", "-o", "cluster_size=65536", top.toString(), target.toString());
        return System.nanoTime() - start;
    }

    private static long plainCopy(Path src, Path dst, long bytes) throws IOException {
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
        return System.nanoTime() - start;
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

    /** Layers L0 (base) .. L2 (top); layer i allocates {@code fill[i]} of the disk in one-cluster runs of random data. */
    static void buildChain(Path dir, long size, double[] fill, long seed) {
        Random rnd = new Random(seed);
        byte[] data = new byte[65536];
        for (int i = 0; i < fill.length; i++) {
            Path p = dir.resolve("L" + i + ".qcow2");
            BlockOptions o = BlockOptions.empty().with("cluster_size", "65536");
            if (i > 0) {
                o = o.with("backing_file", "L" + (i - 1) + ".qcow2").with("backing_fmt", "qcow2");
            }
            DriverRegistry.standard().require("qcow2").create(p, size, o);
            BlockGraph g = new BlockGraph();
            try {
                BlockNode n = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", p.toString()));
                for (long r = 0; r < size / data.length; r++) {
                    if (rnd.nextDouble() < fill[i]) {
                        rnd.nextBytes(data);
                        n.write(r * data.length, ByteBuffer.wrap(data));
                    }
                }
                n.flush();
            } finally {
                g.closeAll();
            }
        }
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
