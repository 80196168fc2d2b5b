package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qemu.img;
import static dev.strata.blockdrv.qcow2.Qemu.io;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Compressed cluster writes ({@link CompressedWriter}) judged by QEMU: {@code qemu-img check}
 * clean, {@code qemu-img compare} / {@code convert} equal to a shadow model, {@code qemu-io}
 * reads, and QEMU's own refusals copied.
 */
@Timeout(180)
class Qcow2CompressedWriteTest {

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    /** Text-like content: compresses well, with some repeats further back than 4 KiB. */
    static byte[] compressible(Random r, int len) {
        byte[] b = new byte[len];
        String[] words = {"qcow2 ", "cluster ", "refcount ", "deflate ", "strata ", "backing ", "L2 table ", "sector "};
        int p = 0;
        while (p < len) {
            byte[] w = words[r.nextInt(words.length)].getBytes();
            int n = Math.min(w.length, len - p);
            System.arraycopy(w, 0, b, p, n);
            p += n;
            if (r.nextInt(50) == 0 && p + 16 < len) {
                b[p++] = (byte) r.nextInt(256); // a little noise
            }
        }
        return b;
    }

    private void withNode(Path image, Consumer<BlockNode> body) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", image.toString()).with("read-only", "off"));
            body.accept(n);
            n.flush();
        } finally {
            g.closeAll();
        }
    }

    private static void assertClean(Path image) {
        Qemu.Result r = Qemu.check(image);
        assertEquals(0, r.exit(), "qemu-img check " + image + ":\n" + r.output());
        assertTrue(r.output().contains("No errors were found on the image."), r.output());
    }

    private static void assertContent(Path image, byte[] model) throws IOException {
        assertArrayEquals(model, Qemu.rawOf(image), "QEMU's view of " + image);
        assertArrayEquals(model, Qemu.strataRead(image), "Strata's view of " + image);
        Path raw = image.resolveSibling(image.getFileName() + ".model.raw");
        Files.write(raw, model);
        img("compare", "-U", image, raw);
        Files.delete(raw);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "compat=0.10", "cluster_size=4096", "cluster_size=512", "refcount_bits=1",
        "extended_l2=on,cluster_size=32768", "cluster_size=2M"})
    void compressedClustersPassQemuCheckAndReadBack(String options) throws IOException {
        Path image = dir.resolve("c.qcow2");
        int cs = options.contains("cluster_size=") ? parseCluster(options) : 65536;
        int clusters = cs >= 1 << 20 ? 5 : 40;
        int size = clusters * cs - (cs >= 4096 ? 1536 : 0); // a short last cluster
        img("create", "-q", "-f", "qcow2", options.isEmpty() ? "-o" : "-o", options.isEmpty() ? "cluster_size=65536" : options,
                image, size);
        byte[] model = new byte[size];
        Random r = new Random(7);
        withNode(image, n -> {
            assertTrue(n.supportsCompressedWrites());
            assertEquals(cs, n.compressedClusterSize());
            for (int c = 0; c < clusters; c++) {
                if (c % 7 == 3) {
                    continue; // left unallocated
                }
                int len = Math.min(cs, size - c * cs);
                byte[] data = c % 5 == 4 ? random(r, len) : compressible(r, len);
                if (c == 1) {
                    Arrays.fill(data, (byte) 0x41); // a pattern qemu-io can check
                }
                n.writeCompressed((long) c * cs, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, c * cs, len);
            }
        });
        assertClean(image);
        assertContent(image, model);
        String check = Qemu.check(image).output();
        assertTrue(check.contains("compressed clusters") && !check.contains(" 0.00% compressed"), check);
        // packing: compressible clusters share host clusters, so the data part of the file (past the
        // five metadata clusters) is far smaller than the guest data; with 1-bit refcounts a host
        // cluster can hold only one reference, so there QEMU (and Strata) give each stream its own
        if (!options.contains("refcount_bits=1")) {
            long data = Files.size(image) - 5L * cs;
            assertTrue(data < size / 2, "file " + Files.size(image) + " for " + size + " bytes");
        }
        // qemu-io reads the compressed pattern cluster; qemu-img map shows clusters 0-2 (compressed) as data without a host offset
        assertTrue(io(image, "read -P 0x41 " + cs + " " + cs).contains("read " + cs + "/" + cs));
        String map = img("map", "--output=json", image);
        assertTrue(map.startsWith("[{ \"start\": 0, \"length\": " + 3 * cs + ", \"depth\": 0, \"present\": true,"
                + " \"zero\": false, \"data\": true}"), map);
    }

    private static int parseCluster(String options) {
        String v = options.replaceAll(".*cluster_size=([0-9M]+).*", "$1");
        return v.endsWith("M") ? Integer.parseInt(v.substring(0, v.length() - 1)) << 20 : Integer.parseInt(v);
    }

    static byte[] random(Random r, int len) {
        byte[] b = new byte[len];
        r.nextBytes(b);
        return b;
    }

    @Test
    void incompressibleClustersAreStoredAsNormalClusters() throws IOException {
        Path image = dir.resolve("r.qcow2");
        img("create", "-q", "-f", "qcow2", image, "1M");
        byte[] data = random(new Random(3), 65536);
        withNode(image, n -> n.writeCompressed(65536, ByteBuffer.wrap(data)));
        assertClean(image);
        String map = img("map", "--output=json", image);
        assertTrue(map.contains("\"start\": 65536, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\""), map);
        byte[] model = new byte[1 << 20];
        System.arraycopy(data, 0, model, 65536, 65536);
        assertContent(image, model);
    }

    @Test
    void refusesAllocatedClustersAndZstdLikeQemu() {
        Path image = dir.resolve("a.qcow2");
        img("create", "-q", "-f", "qcow2", image, "1M");
        // cluster 0 normal, 1 zero-plain, 2 compressed, 3 zero-alloc (zero flag on a kept host cluster)
        io(image, "write -P 1 0 64k", "write -z 64k 64k", "write -c -P 2 128k 64k", "write -P 3 192k 64k", "write -z 192k 64k");
        byte[] text = compressible(new Random(1), 65536);
        withNode(image, n -> {
            BlockException e = assertThrows(BlockException.class, () -> n.writeCompressed(0, ByteBuffer.wrap(text)));
            assertEquals(BlockException.Kind.IO, e.kind());
            e = assertThrows(BlockException.class, () -> n.writeCompressed(131072, ByteBuffer.wrap(text)));
            assertEquals(BlockException.Kind.IO, e.kind());
            e = assertThrows(BlockException.class, () -> n.writeCompressed(196608, ByteBuffer.wrap(text)));
            assertEquals(BlockException.Kind.IO, e.kind());
            n.writeCompressed(65536, ByteBuffer.wrap(text)); // a zero-plain cluster has no host offset: allowed
        });
        assertClean(image);
        Path zstd = dir.resolve("z.qcow2");
        img("create", "-q", "-f", "qcow2", "-o", "compression_type=zstd", zstd, "1M");
        // zstd images are refused as soon as they are opened, so no compressed write can reach one
        BlockException e = assertThrows(BlockException.class, () -> withNode(zstd, n -> { }));
        assertEquals(BlockException.Kind.UNSUPPORTED, e.kind());
        assertTrue(e.getMessage().contains("zstd"), e.getMessage());
        assertClean(zstd);
    }

    @Test
    void readsWhatQemuImgConvertCompressed() throws IOException {
        Random r = new Random(11);
        int size = 3 << 20;
        byte[] model = new byte[size];
        for (int off = 0; off < size; off += 65536) {
            int kind = (off >> 16) % 4;
            byte[] part = kind == 0 ? compressible(r, 65536) : kind == 1 ? random(r, 65536) : new byte[65536];
            System.arraycopy(part, 0, model, off, 65536);
        }
        Path raw = dir.resolve("src.raw");
        Files.write(raw, model);
        Path image = dir.resolve("q.qcow2");
        img("convert", "-c", "-O", "qcow2", raw, image);
        assertArrayEquals(model, Qemu.strataRead(image));
    }

    /**
     * Compressed clusters overwritten by normal writes, zero writes and discards: copy-on-write
     * from compressed data, the shared host clusters' refcounts dropped exactly (check: no leaks),
     * and a host cluster freed that way is never packed into again once reused for data.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster_size=4096", "cluster_size=65536,refcount_bits=4", "extended_l2=on,cluster_size=16384",
        "compat=0.10,cluster_size=8192"})
    void mixedCompressedAndNormalWritesStayConsistent(String options) throws IOException {
        Path image = dir.resolve("m.qcow2");
        int cs = parseCluster(options);
        int clusters = 96;
        int size = clusters * cs;
        img("create", "-q", "-f", "qcow2", "-o", options, image, size);
        byte[] model = new byte[size];
        Random r = new Random(options.hashCode());
        int[] stored = {0};
        for (int round = 0; round < 3; round++) {
            withNode(image, n -> {
                for (int op = 0; op < 150; op++) {
                    int c = r.nextInt(clusters);
                    int what = r.nextInt(10);
                    if (what < 5) {
                        byte[] data = r.nextInt(6) == 0 ? random(r, cs) : compressible(r, cs);
                        try {
                            n.writeCompressed((long) c * cs, ByteBuffer.wrap(data));
                            System.arraycopy(data, 0, model, c * cs, cs);
                            stored[0]++;
                        } catch (BlockException e) {
                            assertEquals(BlockException.Kind.IO, e.kind(), e.getMessage()); // allocated already
                        }
                    } else if (what < 8) {
                        int off = c * cs + r.nextInt(cs);
                        int len = 1 + r.nextInt(Math.min(size - off, 3 * cs));
                        byte[] data = random(r, len);
                        n.write(off, ByteBuffer.wrap(data));
                        System.arraycopy(data, 0, model, off, len);
                    } else if (what < 9) {
                        int len = Math.min(size - c * cs, cs * (1 + r.nextInt(3)));
                        n.writeZeroes((long) c * cs, len, r.nextBoolean());
                        Arrays.fill(model, c * cs, c * cs + len, (byte) 0);
                    } else {
                        n.discard((long) c * cs, cs);
                        Arrays.fill(model, c * cs, c * cs + cs, (byte) 0);
                    }
                }
            });
            assertClean(image);
        }
        assertContent(image, model);
        assertTrue(stored[0] > 60, "only " + stored[0] + " compressed writes landed: the mix would test little");
    }

    /** Several writers at once (a backup's parallel copies): streams packed side by side, nothing lost or leaked. */
    @Test
    void concurrentCompressedWritersPackSafely() throws Exception {
        Path image = dir.resolve("p.qcow2");
        int cs = 16384;
        int clusters = 256;
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + cs, image, clusters * cs);
        byte[] model = new byte[clusters * cs];
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", image.toString()).with("read-only", "off"));
            java.util.List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                threads.add(Thread.ofVirtual().start(() -> {
                    Random r = new Random(100 + id);
                    for (int c = id; c < clusters; c += 4) {
                        byte[] data = c % 9 == 0 ? random(r, cs) : compressible(r, cs);
                        if (c % 11 == 0) {
                            n.write((long) c * cs, ByteBuffer.wrap(data)); // normal allocations interleave
                        } else {
                            n.writeCompressed((long) c * cs, ByteBuffer.wrap(data));
                        }
                        System.arraycopy(data, 0, model, c * cs, cs);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            n.flush();
        } finally {
            g.closeAll();
        }
        assertClean(image);
        assertContent(image, model);
    }

    @Test
    void aFreedPartlyFilledHostClusterIsNotPackedIntoAfterReuse() throws IOException {
        Path image = dir.resolve("f.qcow2");
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", image, "1M");
        byte[] model = new byte[1 << 20];
        Random r = new Random(5);
        withNode(image, n -> {
            byte[] a = compressible(r, 4096);
            n.writeCompressed(0, ByteBuffer.wrap(a));          // host cluster P, partly filled
            byte[] b = random(r, 4096);
            n.write(0, ByteBuffer.wrap(b));                    // COW away from P: P's refcount drops to 0
            byte[] c = random(r, 4096);
            n.write(8192, ByteBuffer.wrap(c));                 // first fit hands P out again, for data
            byte[] d = compressible(r, 4096);
            n.writeCompressed(4096, ByteBuffer.wrap(d));       // must not land in P's tail
            System.arraycopy(b, 0, model, 0, 4096);
            System.arraycopy(c, 0, model, 8192, 4096);
            System.arraycopy(d, 0, model, 4096, 4096);
        });
        assertClean(image);
        assertContent(image, model);
    }
}
