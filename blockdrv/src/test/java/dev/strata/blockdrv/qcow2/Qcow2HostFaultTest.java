package dev.strata.blockdrv.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * qcow2 on a host file that is not a plain file (the fault-injection filter under the image, as
 * in docs/reliability.md items 4 and 5): failed host writes leave no leak and lose nothing
 * acknowledged, and concurrent allocating writes that grow the host file never shrink it again.
 */
@Timeout(180)
class Qcow2HostFaultTest {

    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    private Path image() {
        Path p = dir.resolve("f.qcow2");
        Qcow2WriteInteropTest.create(p, 64L << 20, "");
        return p;
    }

    private static BlockNode openOverFilter(BlockGraph g, Path p) {
        return g.open(BlockOptions.parse("driver=qcow2,file.driver=fault-injection,file.node-name=fi,"
                + "file.file.driver=file,file.file.filename=" + p, null));
    }

    private static FaultInjectionDriver fault(BlockNode qcow2) {
        return (FaultInjectionDriver) qcow2.file().driver();
    }

    private static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (seed * 31 + i / 512 + 1);
        }
        return b;
    }

    private static byte[] read(BlockNode n, long off, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        n.read(off, b);
        return b.array();
    }

    /** EIO on the data write of an allocation (one host write): the clusters are given back, as QEMU does. */
    @Test
    void failedAllocatingWriteLeaksNothingAndLosesNothing() {
        Path p = image();
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openOverFilter(g, p);
            n.write(0, ByteBuffer.wrap(pattern(CLUSTER, 1)));
            n.flush();
            // the next host write (growth of the file for the new cluster, or the data itself) fails once
            fault(n).inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.IO, 1));
            assertThrows(BlockException.class, () -> n.write(4L * CLUSTER + 4096, ByteBuffer.wrap(pattern(8192, 2))));
            fault(n).clear();
            n.write(4L * CLUSTER + 4096, ByteBuffer.wrap(pattern(8192, 2)));
            n.write(9L * CLUSTER, ByteBuffer.wrap(pattern(CLUSTER, 3)));
            n.flush();
            assertArrayEquals(pattern(CLUSTER, 1), read(n, 0, CLUSTER));
            assertArrayEquals(pattern(8192, 2), read(n, 4L * CLUSTER + 4096, 8192));
            assertArrayEquals(pattern(CLUSTER, 3), read(n, 9L * CLUSTER, CLUSTER));
        } finally {
            g.closeAll();
        }
        Qcow2WriteInteropTest.assertClean(p);
        byte[] raw = assertReopened(p);
        assertArrayEquals(pattern(CLUSTER, 1), java.util.Arrays.copyOfRange(raw, 0, CLUSTER));
        assertArrayEquals(pattern(8192, 2), java.util.Arrays.copyOfRange(raw, 4 * CLUSTER + 4096, 4 * CLUSTER + 4096 + 8192));
        assertArrayEquals(pattern(CLUSTER, 3), java.util.Arrays.copyOfRange(raw, 9 * CLUSTER, 10 * CLUSTER));
    }

    /**
     * The same with extended L2 entries (subclusters): a fresh cluster whose subcluster write
     * fails is given back ({@code qemu-img check} found {@code 1 leaked clusters} per failure
     * before), and a failure inside an already allocated cluster changes nothing.
     */
    @Test
    void failedSubclusterAllocationLeaksNothingAndLosesNothing() {
        Path p = dir.resolve("x.qcow2");
        Qcow2WriteInteropTest.create(p, 64L << 20, "extended_l2=on");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openOverFilter(g, p);
            n.write(0, ByteBuffer.wrap(pattern(CLUSTER, 1)));
            n.write(2L * CLUSTER, ByteBuffer.wrap(pattern(4096, 5)));
            n.flush();
            for (int i = 0; i < 3; i++) {
                long at = (4L + i) * CLUSTER + 1024; // unaligned: the touched subclusters get copy-on-write
                fault(n).inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.IO, 1));
                assertThrows(BlockException.class, () -> n.write(at, ByteBuffer.wrap(pattern(8192, 2))));
                fault(n).clear();
            }
            // inside an allocated cluster, other subclusters
            fault(n).inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.IO, 1));
            assertThrows(BlockException.class, () -> n.write(2L * CLUSTER + 8192, ByteBuffer.wrap(pattern(4096, 6))));
            fault(n).clear();
            n.write(4L * CLUSTER + 1024, ByteBuffer.wrap(pattern(8192, 2)));
            n.flush();
            assertArrayEquals(pattern(CLUSTER, 1), read(n, 0, CLUSTER));
            assertArrayEquals(pattern(4096, 5), read(n, 2L * CLUSTER, 4096));
            assertArrayEquals(new byte[4096], read(n, 2L * CLUSTER + 8192, 4096));
            assertArrayEquals(pattern(8192, 2), read(n, 4L * CLUSTER + 1024, 8192));
            assertArrayEquals(new byte[CLUSTER], read(n, 5L * CLUSTER, CLUSTER));
        } finally {
            g.closeAll();
        }
        Qcow2WriteInteropTest.assertClean(p);
    }

    /** EIO on a metadata write-back during flush: the flush fails, the tables stay dirty and the next flush writes them. */
    @Test
    void failedMetadataWriteBackIsRetried() {
        Path p = image();
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = openOverFilter(g, p);
            n.write(0, ByteBuffer.wrap(pattern(CLUSTER, 1)));
            n.flush();
            n.write(2L * CLUSTER, ByteBuffer.wrap(pattern(CLUSTER, 4)));
            fault(n).inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.IO, 1));
            assertThrows(BlockException.class, n::flush);
            fault(n).inject(new FaultRule(FaultRule.Op.FLUSH, 0, 0, BlockException.Kind.IO, 1));
            assertThrows(BlockException.class, n::flush);
            fault(n).clear();
            n.flush();
        } finally {
            g.closeAll();
        }
        Qcow2WriteInteropTest.assertClean(p);
        byte[] raw = assertReopened(p);
        assertArrayEquals(pattern(CLUSTER, 1), java.util.Arrays.copyOfRange(raw, 0, CLUSTER));
        assertArrayEquals(pattern(CLUSTER, 4), java.util.Arrays.copyOfRange(raw, 2 * CLUSTER, 3 * CLUSTER));
    }

    /**
     * Many threads allocating at once, each growing the host file through the filter: a grow that
     * lost the race must not truncate the file below what another thread already wrote (the loss
     * of item 4: whole clusters read back as zeros).
     */
    @Test
    void concurrentAllocatingWritesNeverShrinkTheHostFile() throws Exception {
        Path p = image();
        int threads = 8;
        int perThread = 96; // 768 clusters: 48 MiB of the 64 MiB disk
        BlockGraph g = new BlockGraph();
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            BlockNode n = openOverFilter(g, p);
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int tt = t;
                fs.add(ex.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        long c = (long) i * threads + tt;
                        n.write(c * CLUSTER, ByteBuffer.wrap(pattern(CLUSTER, (int) c)));
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            for (long c = 0; c < (long) threads * perThread; c++) {
                assertArrayEquals(pattern(CLUSTER, (int) c), read(n, c * CLUSTER, CLUSTER), "cluster " + c);
            }
        } finally {
            ex.shutdownNow();
            g.closeAll();
        }
        Qcow2WriteInteropTest.assertClean(p);
    }

    private static byte[] assertReopened(Path p) {
        try {
            return Qemu.rawOf(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
