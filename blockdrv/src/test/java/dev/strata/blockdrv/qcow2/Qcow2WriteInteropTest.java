package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qemu.img;
import static dev.strata.blockdrv.qcow2.Qemu.io;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.SupportsResize;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Images Strata writes pass {@code qemu-img check} with no errors and no leaks, and hold exactly
 * what a shadow model says (compared through {@code qemu-img convert} and Strata's own reads).
 */
@Timeout(180)
class Qcow2WriteInteropTest {

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    static void create(Path file, long size, String options) {
        DriverRegistry.standard().require("qcow2").create(file, size,
                options.isEmpty() ? BlockOptions.empty() : BlockOptions.parse(options, null));
    }

    static void assertClean(Path image) {
        Qemu.Result r = Qemu.check(image);
        assertEquals(0, r.exit(), "qemu-img check " + image + ":\n" + r.output());
        assertTrue(r.output().contains("No errors were found on the image."), r.output());
    }

    /** A random mix of writes, zero writes and discards, mirrored into {@code model}. */
    static void randomOps(BlockNode n, byte[] model, int clusterSize, int ops, long seed) {
        Random r = new Random(seed);
        int size = model.length;
        for (int i = 0; i < ops; i++) {
            int off = r.nextInt(size);
            int len = 1 + r.nextInt(Math.min(size - off, r.nextInt(4) == 0 ? 600_000 : 20_000));
            int what = r.nextInt(10);
            if (what < 6) {
                byte[] data = new byte[len];
                r.nextBytes(data);
                n.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, off, len);
            } else if (what < 8) {
                n.writeZeroes(off, len, r.nextBoolean());
                Arrays.fill(model, off, off + len, (byte) 0);
            } else if (what < 9) {
                n.discard(off, len);
                long first = ((long) off + clusterSize - 1) / clusterSize * clusterSize;
                long end = off + len == size ? size : (long) (off + len) / clusterSize * clusterSize;
                if (first < end) {
                    Arrays.fill(model, (int) first, (int) end, (byte) 0);
                }
            } else {
                n.flush();
            }
        }
    }

    static BlockNode openRw(BlockGraph g, Path p) {
        return g.open(BlockOptions.empty().with("file", p.toString()));
    }

    static byte[] readAll(BlockNode n) {
        ByteBuffer b = ByteBuffer.allocate((int) n.size());
        n.read(0, b);
        return b.array();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "cluster_size=4k", "cluster_size=512", "cluster_size=2M", "refcount_bits=1",
        "refcount_bits=64,cluster_size=16k", "lazy_refcounts=on", "extended_l2=on", "extended_l2=on,cluster_size=16k", "compat=0.10", "compat=0.10,cluster_size=4k"})
    void randomWritesOnAFreshImage(String options) throws IOException {
        Path p = dir.resolve("w.qcow2");
        int size = 24 << 20;
        create(p, size, options);
        int cs = options.contains("cluster_size=") ? (int) dev.strata.blockdrv.Sizes.parseBytes(
                options.replaceAll(".*cluster_size=([^,]+).*", "$1"), "cs") : 65536;
        byte[] model = new byte[size];
        BlockGraph g = new BlockGraph();
        try {
            // small clusters also run with the smallest caches: every metadata access evicts
            BlockNode n = cs <= 4096 ? g.open(BlockOptions.empty().with("file", p.toString())
                    .with("l2-cache-size", "1").with("refcount-cache-size", "1")) : openRw(g, p);
            randomOps(n, model, cs, 300, options.hashCode());
            Qcow2ReadInteropTest.assertSameContent(model, readAll(n), "strata read-back");
        } finally {
            g.closeAll();
        }
        assertClean(p);
        Qcow2ReadInteropTest.assertSameContent(model, Qemu.rawOf(p), "qemu read-back");
    }

    @Test
    void copyOnWriteOverAQemuBuiltChain() throws IOException {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        img("create", "-q", "-f", "qcow2", a, "16M");
        io(a, "write -P 0x11 0 16M");
        img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b);
        io(b, "write -P 0x22 1M 3M", "write -z 5M 1M", "write -c -P 0x33 8M 64k", "discard 2M 128k");
        Path c = dir.resolve("c.qcow2");
        create(c, -1, "backing_file=b.qcow2,backing_fmt=qcow2");
        byte[] model = Qemu.rawOf(b);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openRw(g, c);
            randomOps(n, model, 65536, 250, 42);
            Qcow2ReadInteropTest.assertSameContent(model, readAll(n), "strata read-back");
        } finally {
            g.closeAll();
        }
        assertClean(c);
        Qcow2ReadInteropTest.assertSameContent(model, Qemu.rawOf(c), "qemu read-back");
        // overwriting compressed, zero and shared clusters of a qemu-written image in place
        g = new BlockGraph();
        try {
            BlockNode n = openRw(g, b);
            byte[] mb = Qemu.rawOf(b);
            randomOps(n, mb, 65536, 150, 43);
            n.write(8 << 20, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            mb[8 << 20] = 1;
            mb[(8 << 20) + 1] = 2;
            mb[(8 << 20) + 2] = 3;
            Qcow2ReadInteropTest.assertSameContent(mb, readAll(n), "strata read-back of b");
            g.closeAll();
            assertClean(b);
            Qcow2ReadInteropTest.assertSameContent(mb, Qemu.rawOf(b), "qemu read-back of b");
        } finally {
            g.closeAll();
        }
    }

    @Test
    void concurrentWritersAndReaders() throws Exception {
        Path base = dir.resolve("base.qcow2");
        img("create", "-q", "-f", "qcow2", base, "32M");
        io(base, "write -P 0x5c 0 32M");
        Path p = dir.resolve("p.qcow2");
        create(p, -1, "backing_file=base.qcow2,backing_fmt=qcow2,cluster_size=16k");
        byte[] model = Qemu.rawOf(base);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openRw(g, p);
            int threads = 32;
            int stripe = 37 * 1000; // not cluster aligned: neighbours share clusters
            List<Future<?>> fs = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    fs.add(ex.submit(() -> {
                        Random r = new Random(id);
                        for (int i = 0; i < 40; i++) {
                            int s = r.nextInt(model.length / stripe / threads) * threads + id;
                            int off = s * stripe + r.nextInt(stripe / 2);
                            int len = 1 + r.nextInt(stripe / 2);
                            byte[] d = new byte[len];
                            r.nextBytes(d);
                            if (r.nextInt(5) == 0) {
                                n.writeZeroes(off, len, false);
                                Arrays.fill(d, (byte) 0);
                            } else {
                                n.write(off, ByteBuffer.wrap(d));
                            }
                            synchronized (model) {
                                System.arraycopy(d, 0, model, off, len);
                            }
                            n.read(r.nextInt(model.length - 70000), ByteBuffer.allocate(65536));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
            }
            Qcow2ReadInteropTest.assertSameContent(model, readAll(n), "strata read-back");
        } finally {
            g.closeAll();
        }
        assertClean(p);
        Qcow2ReadInteropTest.assertSameContent(model, Qemu.rawOf(p), "qemu read-back");
    }

    @Test
    void growthOverALongerBackingFileHidesItsData() throws IOException {
        Path a = dir.resolve("a.qcow2");
        img("create", "-q", "-f", "qcow2", a, "8M");
        io(a, "write -P 0x71 0 8M");
        Path b = dir.resolve("b.qcow2");
        create(b, 3 << 20, "backing_file=a.qcow2,backing_fmt=qcow2,cluster_size=4k");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openRw(g, b);
            n.write(1 << 20, ByteBuffer.wrap(new byte[5000]));
            ((SupportsResize) n.driver()).resize(6 << 20);
            ((SupportsResize) n.driver()).resize(64L << 20); // grows the L1 table too
            n.write((64L << 20) - 3000, ByteBuffer.wrap(new byte[] {7, 7, 7}));
        } finally {
            g.closeAll();
        }
        assertClean(b);
        byte[] raw = Qemu.rawOf(b);
        assertEquals(64L << 20, raw.length);
        for (int i = 3 << 20; i < (8 << 20); i++) {
            if (raw[i] != 0) {
                throw new AssertionError("backing data shows through at " + i);
            }
        }
        assertEquals(0x71, raw[0]);
        assertEquals(7, raw[(64 << 20) - 3000]);
        Qcow2ReadInteropTest.assertSameContent(raw, Qemu.strataRead(b), "after growth");
    }

    @Test
    void refcountTableGrowsWithTinyClusters() throws IOException {
        Path p = dir.resolve("t.qcow2");
        create(p, 64 << 20, "cluster_size=512");
        byte[] model = new byte[64 << 20];
        new Random(9).nextBytes(model);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openRw(g, p);
            for (int off = 0; off < (12 << 20); off += 1 << 20) { // the first table covers 8 MiB
                n.write(off, ByteBuffer.wrap(model, off, 1 << 20));
            }
            Arrays.fill(model, 12 << 20, model.length, (byte) 0);
        } finally {
            g.closeAll();
        }
        assertClean(p);
        Qcow2ReadInteropTest.assertSameContent(model, Qemu.rawOf(p), "qemu read-back");
    }

    @Test
    void sameWritesGiveTheSameFileAsQemu() throws IOException {
        Path q = dir.resolve("q.qcow2");
        Path s = dir.resolve("s.qcow2");
        img("create", "-q", "-f", "qcow2", q, "1G");
        create(s, 1L << 30, "");
        io(q, "write -P 0x5a 0 3M", "write -P 0x5b 700M 64k", "write -P 0x5c 3M 128k");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openRw(g, s);
            byte[] a = new byte[3 << 20];
            Arrays.fill(a, (byte) 0x5a);
            n.write(0, ByteBuffer.wrap(a));
            byte[] b = new byte[64 << 10];
            Arrays.fill(b, (byte) 0x5b);
            n.write(700L << 20, ByteBuffer.wrap(b));
            byte[] c = new byte[128 << 10];
            Arrays.fill(c, (byte) 0x5c);
            n.write(3 << 20, ByteBuffer.wrap(c));
        } finally {
            g.closeAll();
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(java.nio.file.Files.readAllBytes(q), java.nio.file.Files.readAllBytes(s),
                "same layout as QEMU: L2 tables before their data, first fit");
    }

    @Test
    void readersOfStableDataNeverSeeMetadataChurnNextDoor() throws Exception {
        Path p = dir.resolve("churn.qcow2");
        create(p, 64 << 20, "cluster_size=4k");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", p.toString()).with("l2-cache-size", "8k"));
            byte[] stable = new byte[1 << 20];
            new Random(5).nextBytes(stable);
            for (int k = 0; k < 8; k++) {
                n.write(k * (8L << 20), ByteBuffer.wrap(stable)); // shares L2 tables with the churn below
            }
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            List<Future<?>> fs = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int w = 0; w < 4; w++) {
                    int id = w;
                    fs.add(ex.submit(() -> {
                        Random r = new Random(id);
                        for (int i = 0; i < 200; i++) {
                            long off = r.nextInt(8) * (8L << 20) + (1 << 20) + r.nextInt(6 << 20);
                            switch (i % 3) {
                                case 0 -> n.write(off, ByteBuffer.allocate(1 + r.nextInt(20000)));
                                case 1 -> n.discard(off & ~4095L, 4096 * (1 + r.nextInt(8)));
                                default -> n.writeZeroes(off, 1 + r.nextInt(30000), r.nextBoolean());
                            }
                        }
                        return null;
                    }));
                }
                for (int rd = 0; rd < 16; rd++) {
                    int id = rd;
                    fs.add(ex.submit(() -> {
                        Random r = new Random(100 + id);
                        ByteBuffer b = ByteBuffer.allocate(8192);
                        while (!stop.get()) {
                            int k = r.nextInt(8);
                            int in = r.nextInt(stable.length - 8192);
                            b.clear();
                            n.read(k * (8L << 20) + in, b);
                            if (Arrays.mismatch(b.array(), 0, 8192, stable, in, in + 8192) >= 0) {
                                throw new AssertionError("stable data changed under churn at " + (k * (8L << 20) + in));
                            }
                        }
                        return null;
                    }));
                }
                for (int w = 0; w < 4; w++) {
                    fs.get(w).get();
                }
                stop.set(true);
                for (Future<?> f : fs) {
                    f.get();
                }
            }
        } finally {
            g.closeAll();
        }
        assertClean(p);
    }

    @Test
    void extendedL2CopyOnWriteKeepsUntouchedSubclustersFallingThrough() throws IOException {
        Path a = dir.resolve("a.qcow2");
        img("create", "-q", "-f", "qcow2", a, "8M");
        io(a, "write -P 0x11 0 8M");
        Path b = dir.resolve("b.qcow2");
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", "a.qcow2", "-F", "qcow2", b);
        io(b, "write -c -P 0x22 1M 64k", "write -P 0x23 2M 3k", "write -z 3M 64k");
        Path q = dir.resolve("q.qcow2");
        java.nio.file.Files.copy(b, q);
        io(q, "write -P 0x44 2k 2k", "write -P 0x45 74k 5k", "write -z 128k 8k", "write -P 0x46 1M 1k",
                "write -P 0x47 3M 3k", "discard 4M 64k", "write -z 5M 1k");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openRw(g, b);
            n.write(2048, filled(2048, 0x44));
            n.write(74 << 10, filled(5 << 10, 0x45));
            n.writeZeroes(128 << 10, 8 << 10, false);
            n.write(1 << 20, filled(1024, 0x46));
            n.write(3 << 20, filled(3 << 10, 0x47));
            n.discard(4 << 20, 64 << 10);
            n.writeZeroes(5 << 20, 1024, false);
        } finally {
            g.closeAll();
        }
        assertClean(b);
        Qcow2ReadInteropTest.assertSameContent(Qemu.rawOf(q), Qemu.rawOf(b), "same content as QEMU's writes");
        Qcow2ReadInteropTest.assertSameContent(Qemu.rawOf(q), Qemu.strataRead(b), "strata read-back");
        // the subclusters QEMU leaves unallocated are unallocated here too
        assertEquals(img("map", "--output=json", q).replaceAll(", \"offset\": \\d+", ""),
                img("map", "--output=json", b).replaceAll(", \"offset\": \\d+", ""));
    }

    private static ByteBuffer filled(int len, int value) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) value);
        return ByteBuffer.wrap(b);
    }

    @Test
    void version2OverlayCopyOnWriteAndZeroes() throws IOException {
        Path a = dir.resolve("a.qcow2");
        img("create", "-q", "-f", "qcow2", "-o", "compat=0.10", a, "8M");
        io(a, "write -P 0x11 0 8M");
        Path b = dir.resolve("b.qcow2");
        create(b, -1, "compat=0.10,backing_file=a.qcow2,backing_fmt=qcow2");
        byte[] model = Qemu.rawOf(a);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openRw(g, b);
            Random r = new Random(11);
            for (int i = 0; i < 120; i++) {
                int off = r.nextInt(model.length - 70000);
                int len = 1 + r.nextInt(70000);
                if (i % 4 == 0) {
                    n.writeZeroes(off, len, true);
                    Arrays.fill(model, off, off + len, (byte) 0);
                } else {
                    byte[] d = new byte[len];
                    r.nextBytes(d);
                    n.write(off, ByteBuffer.wrap(d));
                    System.arraycopy(d, 0, model, off, len);
                }
                if (i % 10 == 0) {
                    n.discard(off, len); // v2 over a backing file cannot discard: ignored
                }
            }
        } finally {
            g.closeAll();
        }
        assertClean(b);
        assertTrue(img("info", b).contains("compat: 0.10"));
        Qcow2ReadInteropTest.assertSameContent(model, Qemu.rawOf(b), "qemu read-back");
    }
}
