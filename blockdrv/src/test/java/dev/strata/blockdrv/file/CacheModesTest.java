package dev.strata.blockdrv.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's cache modes on real host files: {@code cache.direct=on} really bypasses the page cache
 * (the kernel's own count of cached pages, {@code fincore}, is the judge), pads requests that are
 * not whole blocks without losing a byte, keeps the image locks, and fails as QEMU on a file
 * system without O_DIRECT; {@code cache.no-flush=on} keeps flushes from the host; a writethrough
 * backend makes every write durable before it completes.
 */
@Timeout(120)
class CacheModesTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    // ---- O_DIRECT bypasses the page cache --------------------------------------------------

    @Test
    void directQcow2WritesAndReadsLeaveNoPageOfTheImageCached() throws Exception {
        assumeTool("fincore");
        Path img = qcow2("direct.qcow2", 16 * MIB, 64 << 10);
        dropCache(img);
        assertEquals(0, cachedPages(img), "precondition: the new image is out of the page cache");
        byte[] shadow = new byte[16 * MIB];
        writeMixedRequests(img, true, shadow);
        assertEquals(0, cachedPages(img), "data, qcow2 metadata and read-back all bypassed the page cache");
        assertImageHolds(img, shadow);

        // the control: the same requests without cache.direct fill the page cache, so the count above can fail
        Path buffered = qcow2("buffered.qcow2", 16 * MIB, 64 << 10);
        dropCache(buffered);
        writeMixedRequests(buffered, false, new byte[16 * MIB]);
        assertTrue(cachedPages(buffered) > 256, "buffered I/O is seen in the page cache: " + cachedPages(buffered));
    }

    /** Whole clusters, 4 KiB heap buffers, sector-aligned and byte-aligned pieces; then reads all back. */
    private void writeMixedRequests(Path img, boolean direct, byte[] shadow) {
        BlockGraph g = new BlockGraph();
        BlockNode n = g.open(BlockOptions.parse("driver=qcow2,file=" + img + ",cache.direct=" + (direct ? "on" : "off"), null));
        try {
            assertEquals(direct, ((FileDriver) n.file().driver()).isDirect());
            BlockBackend b = g.createBackend("d0", n, true);
            Random r = new Random(18);
            for (int i = 0; i < 32; i++) {   // 2 MiB of whole clusters, from a direct buffer
                write(b, shadow, i * (64L << 10), 64 << 10, r, true);
            }
            for (int i = 0; i < 64; i++) {   // 4 KiB pieces from heap buffers
                write(b, shadow, 4 * MIB + i * 8192L, 4096, r, false);
            }
            for (int i = 0; i < 64; i++) {   // sector-aligned, not block-aligned
                write(b, shadow, 6 * MIB + i * 9000L / 512 * 512 + 512, 1536, r, i % 2 == 0);
            }
            for (int i = 0; i < 64; i++) {   // any byte
                write(b, shadow, 8 * MIB + 7 + i * 12345L, 1 + r.nextInt(9000), r, i % 2 == 0);
            }
            b.flush();
            ByteBuffer back = ByteBuffer.allocateDirect(16 * MIB);
            for (int off = 0; off < 16 * MIB; off += MIB) {   // reads through the same node
                b.read(off, back.slice(off, MIB));
            }
            byte[] got = new byte[16 * MIB];
            back.get(0, got);
            assertArrayEquals(shadow, got, "what the node reads back is what was written");
        } finally {
            g.closeAll();
        }
    }

    private static void write(BlockBackend b, byte[] shadow, long off, int len, Random r, boolean directBuffer) {
        byte[] data = new byte[len];
        r.nextBytes(data);
        System.arraycopy(data, 0, shadow, (int) off, len);
        ByteBuffer buf = directBuffer ? ByteBuffer.allocateDirect(len).put(data).flip() : ByteBuffer.wrap(data);
        b.write(off, buf);
    }

    // ---- padding of requests that are not whole blocks -----------------------------------------

    @Test
    void concurrentSectorWritesSharingBlocksArePaddedWithoutLosingBytes() throws Exception {
        // raw: the generic request path pads; qcow2 with 512-byte clusters: the file driver pads
        // host writes of a cluster that share a block with other clusters
        Path raw = dir.resolve("disk.raw");
        int rawSize = MIB + 1000;   // off the block size: the last partial block is written too
        Files.write(raw, new byte[rawSize]);
        byte[] rawShadow = concurrentSectorWrites("driver=raw,file=" + raw + ",cache.direct=on", rawSize);
        assertArrayEquals(rawShadow, Files.readAllBytes(raw));
        assertEquals(rawSize, Files.size(raw), "padding never grows the file");

        Path small = qcow2("small.qcow2", MIB, 512);
        byte[] shadow = concurrentSectorWrites("driver=qcow2,file=" + small + ",cache.direct=on", MIB);
        assertImageHolds(small, shadow);
    }

    /** Four threads, each owning every fourth 512-byte sector, so every 4 KiB block has writers racing. */
    private static byte[] concurrentSectorWrites(String options, int size) throws Exception {
        byte[] shadow = new byte[size];
        BlockGraph g = new BlockGraph();
        BlockNode n = g.open(BlockOptions.parse(options, null));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            int sectors = (size + 511) / 512;
            for (int t = 0; t < 4; t++) {
                int owner = t;
                done.add(pool.submit(() -> {
                    Random r = new Random(owner);
                    for (int s = owner; s < sectors; s += 4) {
                        int len = (int) Math.min(512, size - s * 512L);
                        byte[] data = new byte[len];
                        r.nextBytes(data);
                        n.write(s * 512L, ByteBuffer.wrap(data));
                        System.arraycopy(data, 0, shadow, s * 512, len);   // each thread its own bytes
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            n.flush();
        } finally {
            pool.shutdownNow();
            g.closeAll();
        }
        return shadow;
    }

    // ---- file systems without O_DIRECT, image locks ------------------------------------------------

    @Test
    void aFileSystemWithoutODirectFailsAsQemuDoes() throws Exception {
        Path mnt = Files.createDirectories(dir.resolve("ramfs"));
        Tools.Result m = Tools.run("mount", "-t", "ramfs", "none", mnt.toString());
        Assumptions.assumeTrue(m.exit() == 0, "needs root to mount a ramfs (the one file system here that refuses "
                + "O_DIRECT; tmpfs accepts it since Linux 6.6): " + m.output().strip());
        try {
            Path img = mnt.resolve("a.qcow2");
            DriverRegistry.standard().require("qcow2").create(img, MIB, BlockOptions.empty());
            BlockGraph g = new BlockGraph();
            BlockException e = assertThrows(BlockException.class,
                    () -> g.open(BlockOptions.parse("driver=qcow2,file=" + img + ",cache.direct=on", null)));
            assertEquals("Could not open '" + img + "': filesystem does not support O_DIRECT", e.getMessage());
            g.open(BlockOptions.parse("driver=qcow2,file=" + img, null));   // buffered still opens
            g.closeAll();
            g.open(BlockOptions.parse("driver=qcow2,file=" + img, null));   // and nothing was left locked
            g.closeAll();
        } finally {
            Tools.run("umount", mnt.toString());
        }
    }

    @Test
    void aDirectImageKeepsQemusImageLocks() throws Exception {
        assumeTool("qemu-io");
        Path img = qcow2("locked.qcow2", MIB, 64 << 10);
        BlockGraph g = new BlockGraph();
        BlockNode n = g.open(BlockOptions.parse("driver=qcow2,file=" + img + ",cache.direct=on", null));
        // a second holder of the same file in this process, buffered, then released: the locks stay
        BlockGraph other = new BlockGraph();
        other.open(BlockOptions.parse("driver=qcow2,file=" + img + ",read-only=on,force-share=on", null));
        other.closeAll();
        n.write(0, ByteBuffer.allocate(4096));
        Tools.Result busy = Tools.run("qemu-io", "-f", "qcow2", "-c", "read 0 512", img.toString());
        assertNotEquals(0, busy.exit());
        assertTrue(busy.output().contains("Failed to get \"write\" lock"), busy.output());
        g.closeAll();
        Tools.Result free = Tools.run("qemu-io", "-f", "qcow2", "-c", "read 0 512", img.toString());
        assertEquals(0, free.exit(), free.output());
    }

    @Test
    void aDirectBackingFileReopenedForWritingKeepsItsLocksAndWrites() throws Exception {
        assumeTool("qemu-io");
        Path base = qcow2("base.qcow2", MIB, 64 << 10);
        Path top = dir.resolve("top.qcow2");
        DriverRegistry.standard().require("qcow2").create(top, MIB, BlockOptions.empty()
                .with("backing_file", base.toString()).with("backing_fmt", "qcow2"));
        BlockGraph g = new BlockGraph();
        try {
            BlockNode t = g.open(BlockOptions.parse("driver=qcow2,file=" + top + ",cache.direct=on", null));
            BlockNode b = t.backing();
            assertTrue(((FileDriver) b.file().driver()).isDirect(), "the backing file inherits cache.direct");
            b.setReadOnly(false);   // what commit does: both channels of the file are reopened read-write
            byte[] data = new byte[4096];
            Arrays.fill(data, (byte) 0x42);
            b.write(8192, ByteBuffer.wrap(data));
            b.flush();
            Tools.Result busy = Tools.run("qemu-io", "-f", "qcow2", "-c", "read 0 512", base.toString());
            assertTrue(busy.exit() != 0 && busy.output().contains("Failed to get \"write\" lock"), busy.output());
        } finally {
            g.closeAll();
        }
        Tools.Result read = Tools.run("qemu-io", "-f", "qcow2", "-c", "read -P 0x42 8192 4096", base.toString());
        assertEquals(0, read.exit(), read.output());
        assertTrue(!read.output().contains("Pattern verification failed"), read.output());
    }

    // ---- no-flush and writethrough ---------------------------------------------------------------------

    @Test
    void noFlushKeepsFlushesFromTheHost() throws Exception {
        Path img = qcow2("unsafe.qcow2", MIB, 64 << 10);
        for (boolean noFlush : new boolean[] {false, true}) {
            BlockGraph g = new BlockGraph();
            BlockNode n = g.open(BlockOptions.parse("driver=qcow2,file=" + img + ",cache.no-flush=" + (noFlush ? "on" : "off"), null));
            BlockBackend b = g.createBackend("d0", n, true);
            FileDriver f = (FileDriver) n.file().driver();
            assertEquals(noFlush, n.file().cache().noFlush(), "the file child inherits the option");
            long before = f.hostFlushes();
            // allocating writes order qcow2's metadata with flushes of their own; then the guest's flush
            for (int i = 0; i < 4; i++) {
                b.write(i * (64L << 10), ByteBuffer.allocate(4096));
            }
            b.flush();
            long flushes = f.hostFlushes() - before;
            assertTrue(noFlush ? flushes == 0 : flushes > 0, "no-flush=" + noFlush + ": " + flushes + " host flushes");
            g.closeAll();
        }
    }

    @Test
    void writethroughMakesEveryWriteDurableBeforeItCompletes() throws Exception {
        Path img = dir.resolve("wt.raw");   // raw: no flushes of the format's own to count
        Files.write(img, new byte[MIB]);
        for (boolean writeCache : new boolean[] {true, false}) {
            BlockGraph g = new BlockGraph();
            BlockNode n = g.open(BlockOptions.parse("driver=raw,file=" + img, null));
            BlockBackend b = g.createBackend("d0", n, writeCache);
            FileDriver f = (FileDriver) n.file().driver();
            long before = f.hostFlushes();
            for (int i = 0; i < 5; i++) {
                b.write(i * 4096L, ByteBuffer.allocate(4096));
            }
            b.writeZeroes(64 << 10, 4096, false);
            assertEquals(writeCache ? 0 : 6, f.hostFlushes() - before, "write cache " + writeCache);
            assertEquals(writeCache ? "writeback" : "writethrough", b.cacheMode().describe());
            g.closeAll();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private Path qcow2(String name, long size, int clusterSize) {
        Path p = dir.resolve(name);
        DriverRegistry.standard().require("qcow2").create(p, size, BlockOptions.empty().with("cluster_size", Integer.toString(clusterSize)));
        return p;
    }

    /** qemu-img check is clean and qemu-img's raw conversion holds exactly {@code shadow}. */
    private void assertImageHolds(Path img, byte[] shadow) throws Exception {
        assumeTool("qemu-img");
        Tools.Result check = Tools.run("qemu-img", "check", img.toString());
        assertEquals(0, check.exit(), check.output());
        assertTrue(check.output().contains("No errors were found"), check.output());
        Path raw = dir.resolve(img.getFileName() + ".raw");
        Tools.Result conv = Tools.run("qemu-img", "convert", "-O", "raw", img.toString(), raw.toString());
        assertEquals(0, conv.exit(), conv.output());
        assertArrayEquals(shadow, Files.readAllBytes(raw), "qemu-img reads what Strata wrote");
    }

    /** Writes back and drops every cached page of {@code f} (GNU dd's nocache flag: fdatasync + POSIX_FADV_DONTNEED). */
    private static void dropCache(Path f) throws IOException, InterruptedException {
        Tools.Result r = Tools.run("dd", "if=/dev/null", "of=" + f, "oflag=nocache", "conv=notrunc,fdatasync", "count=0", "status=none");
        assertEquals(0, r.exit(), r.output());
    }

    /** The kernel's count of {@code f}'s pages in the page cache ({@code fincore}, util-linux). */
    private static long cachedPages(Path f) throws IOException, InterruptedException {
        Tools.Result r = Tools.run("fincore", "--noheadings", "--output", "PAGES", f.toString());
        assertEquals(0, r.exit(), r.output());
        return Long.parseLong(r.output().strip());
    }

    private static void assumeTool(String tool) {
        Assumptions.assumeTrue(Tools.has(tool), tool + " is not installed (.ci/run installs it)");
    }
}
