package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qemu.img;
import static dev.strata.blockdrv.qcow2.Qemu.io;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.BlockStatus;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Property: whatever bytes the header and metadata tables hold, opening, reading, mapping and
 * writing either work or fail with a {@link BlockException} - never another exception, a hang or
 * an unbounded allocation. Thousands of seeded mutations of real images (qemu-made seeds).
 */
@Timeout(150)
class Qcow2FuzzTest {

    private static final int ITERATIONS = Integer.getInteger("strata.fuzz.iterations", 2000);

    @TempDir
    Path dir;
    final List<byte[]> seeds = new ArrayList<>();
    final List<int[]> hot = new ArrayList<>();

    @BeforeEach
    void seeds() throws Exception {
        Qemu.assumeTools();
        Path base = dir.resolve("base.qcow2");
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", base, "4M");
        io(base, "write -P 0x11 0 1M");
        String[][] variants = {
            {"cluster_size=4k", "write -P 0x22 8k 20k", "write -z 64k 8k", "discard 512k 4k", "write -c -P 3 1M 4k"},
            {"cluster_size=4k,compat=0.10", "write -P 0x22 8k 20k", "write -P 4 2M 9k"},
            {"cluster_size=16k,extended_l2=on", "write -P 0x22 2k 3k", "write -z 40k 1k", "write -P 5 1M 64k"},
            {"cluster_size=512,refcount_bits=1", "write -P 0x22 0 3k", "write -c -P 6 4k 512"},
        };
        for (String[] v : variants) {
            Path p = dir.resolve("seed.qcow2");
            Files.deleteIfExists(p);
            img("create", "-q", "-f", "qcow2", "-o", v[0], "-b", "base.qcow2", "-F", "qcow2", p);
            String[] cmds = new String[v.length - 1];
            System.arraycopy(v, 1, cmds, 0, cmds.length);
            io(p, cmds);
            byte[] b = Files.readAllBytes(p);
            seeds.add(b);
            ByteBuffer h = ByteBuffer.wrap(b);
            int cs = 1 << h.getInt(20);
            // where mutations hurt most: header, refcount table, L1 table, first L2 tables
            hot.add(new int[] {0, 120, (int) h.getLong(48), cs, (int) h.getLong(40), h.getInt(36) * 8, cs * 3, cs * 6});
        }
    }

    @Test
    void mutatedImagesFailCleanly() throws Exception {
        Random r = new Random(Long.getLong("strata.fuzz.seed", 0x5eed));
        Path f = dir.resolve("fuzz.qcow2");
        for (int i = 0; i < ITERATIONS; i++) {
            int s = r.nextInt(seeds.size());
            byte[] b = seeds.get(s).clone();
            int[] h = hot.get(s);
            int mutations = 1 + r.nextInt(4);
            for (int m = 0; m < mutations; m++) {
                int region = r.nextInt(4);
                int start = Math.min(b.length - 1, h[region * 2]);
                int len = Math.max(1, Math.min(h[region * 2 + 1], b.length - start));
                int at = start + r.nextInt(len);
                switch (r.nextInt(4)) {
                    case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                    case 1 -> b[at] = (byte) r.nextInt();
                    case 2 -> b[at] = (byte) (r.nextBoolean() ? 0 : 0xFF);
                    default -> {
                        // a whole big-endian field to an interesting value
                        long[] vals = {0, 1, -1, 0x7FFFFFFF, 0x80000000L, 1L << 40, 0x200, 0x10000, Long.MAX_VALUE};
                        long v = vals[r.nextInt(vals.length)];
                        int w = r.nextBoolean() ? 4 : 8;
                        for (int k = 0; k < w && (at & ~7) + k < b.length; k++) {
                            b[(at & ~7) + k] = (byte) (v >>> (8 * (w - 1 - k)));
                        }
                    }
                }
            }
            Files.write(f, b);
            long t0 = System.nanoTime();
            try {
                exercise(f, r.nextLong());
                if (System.nanoTime() - t0 > 200_000_000L && Boolean.getBoolean("strata.fuzz.slow")) {
                    Files.write(dir.resolve("slow-" + i + ".qcow2"), b);
                    System.err.println("slow iteration " + i + " (seed " + s + "): " + (System.nanoTime() - t0) / 1_000_000 + " ms");
                }
            } catch (BlockException expected) {
                // a clear refusal is the point
            } catch (Throwable t) {
                throw new AssertionError("iteration " + i + " (seed image " + s + ") threw " + t, t);
            }
        }
    }

    private static void exercise(Path f, long seed) {
        Random r = new Random(seed);
        BlockGraph g = new BlockGraph();
        try {
            boolean rw = r.nextInt(3) == 0;
            BlockNode n = g.open(BlockOptions.empty().with("file", f.toString()).with("read-only", rw ? "off" : "on"));
            long size = n.size();
            if (size == 0) {
                return;
            }
            long pos = 0;
            for (int k = 0; k < 64 && pos < size; k++) {
                BlockStatus st = n.blockStatus(pos, size - pos);
                pos = st.end();
            }
            for (int k = 0; k < 4; k++) {
                int len = (int) Math.min(size, 1 + r.nextInt(70000));
                long off = (long) (r.nextDouble() * (size - len));
                n.read(off, ByteBuffer.allocate(len));
            }
            if (rw) {
                for (int k = 0; k < 3; k++) {
                    int len = (int) Math.min(size, 1 + r.nextInt(9000));
                    long off = (long) (r.nextDouble() * (size - len));
                    switch (k) {
                        case 0 -> n.write(off, ByteBuffer.allocate(len));
                        case 1 -> n.writeZeroes(off, len, true);
                        default -> n.discard(off, len);
                    }
                }
                n.flush();
            }
        } finally {
            try {
                g.closeAll();
            } catch (BlockException e) {
                // closing a damaged image may fail its final flush; that is a clean failure too
            }
        }
    }
}
