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
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged images are refused at open or fail the affected request with a clear
 * {@link BlockException}; reads QEMU tolerates (pointers past EOF) read zeros as in QEMU.
 * Pristine layout: cluster 0 header, 1 refcount table, 2 refcount block, 3 L1, 4 L2, 5.. data.
 */
@Timeout(60)
class Qcow2CorruptionTest {

    @TempDir
    Path dir;
    Path image;

    @BeforeEach
    void pristine() {
        Qemu.assumeTools();
        image = dir.resolve("p.qcow2");
        img("create", "-q", "-f", "qcow2", image, "8M");
        io(image, "write -P 0x5a 0 320k");
    }

    private void poke(long offset, long value, int bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(offset);
            for (int i = bytes - 1; i >= 0; i--) {
                f.write((int) (value >>> (8 * i)));
            }
        }
    }

    private BlockException openFails(boolean readOnly) {
        BlockGraph g = new BlockGraph();
        try {
            return assertThrows(BlockException.class, () -> g.open(BlockOptions.empty().with("file", image.toString())
                    .with("driver", "qcow2").with("read-only", readOnly ? "on" : "off")));
        } finally {
            g.closeAll();
        }
    }

    private byte[] read(long offset, int len) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", image.toString()).with("read-only", "on"));
            ByteBuffer b = ByteBuffer.allocate(len);
            n.read(offset, b);
            return b.array();
        } finally {
            g.closeAll();
        }
    }

    @Test
    void truncatedHeaders() throws IOException {
        for (int len : new int[] {0, 3, 20, 71, 100}) {
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(len);
            }
            assertTrue(openFails(true).getMessage().length() > 5);
        }
    }

    @Test
    void truncatedInsideDataReadsZerosAndL2GoneReadsZeros() throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(f.length() - 32768);
        }
        byte[] tail = read(5 * 65536 - 65536 + 32768, 32768);
        assertArrayEquals(new byte[32768], tail);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(4 * 65536);
        }
        assertArrayEquals(new byte[65536], read(0, 65536));
    }

    @Test
    void pointersPastEofReadZeros() throws IOException {
        poke(0x40000, 0x8000000000000000L | (1L << 40), 8); // L2 entry 0 -> far past EOF
        assertArrayEquals(new byte[4096], read(0, 4096));
        poke(0x30000, 0x8000000000000000L | (1L << 41), 8); // L1 entry 0 -> far past EOF
        assertArrayEquals(new byte[4096], read(65536, 4096));
    }

    @Test
    void misalignedOffsetsFailTheRequest() throws IOException {
        poke(0x40000 + 8, 0x8000000000050200L, 8);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", image.toString()).with("read-only", "on"));
            assertArrayEquals(new byte[0], new byte[0]);
            n.read(0, ByteBuffer.allocate(4096)); // the untouched cluster still reads
            BlockException e = assertThrows(BlockException.class, () -> n.read(65536, ByteBuffer.allocate(512)));
            assertEquals(BlockException.Kind.CORRUPT, e.kind());
            assertTrue(e.getMessage().contains("unaligned"), e.getMessage());
        } finally {
            g.closeAll();
        }
        poke(0x30000, 0x8000000000040200L, 8);
        g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", image.toString()).with("read-only", "on"));
            BlockException e = assertThrows(BlockException.class, () -> n.read(0, ByteBuffer.allocate(512)));
            assertTrue(e.getMessage().contains("L2 table offset 0x40200 unaligned"), e.getMessage());
        } finally {
            g.closeAll();
        }
    }

    @Test
    void absurdHeaderFieldsAreRefused() throws IOException {
        byte[] good = Files.readAllBytes(image);
        long[][] cases = {
            {4, 4, 4},                        // version 4
            {20, 22, 4},                      // cluster_bits 22
            {20, 8, 4},                       // cluster_bits 8
            {36, 0x7FFFFFFF, 4},              // l1_size: 16 GiB of L1
            {36, 0, 4},                       // L1 too small for the size
            {24, 1L << 60, 8},                // size far beyond the L1
            {24, -512, 8},                    // negative size
            {56, 0x10000000, 4},              // refcount table of 16 TiB
            {56, 0, 4},                       // no refcount table
            {48, 0x10001, 8},                 // unaligned refcount table
            {40, 0x30001, 8},                 // unaligned L1
            {100, 0x7FFFFFF0, 4},             // header_length beyond the cluster
            {100, 64, 4},                     // header_length too short
            {96, 7, 4},                       // refcount_order 7
            {8, 0x20000, 8},                  // backing name offset beyond cluster 0
            {16, 0x7FFFFFFF, 4},              // backing name length (with an offset set below)
            {72, 1L << 20, 8},                // unknown incompatible bit 20
            {32, 1, 4},                       // AES encryption
            {32, 2, 4},                       // LUKS
            {72, 1L << 2, 8},                 // external data file
            {72, 1L << 3, 8},                 // zstd bit without the type
            {60, 0x7FFFFFFF, 4},              // two billion snapshots
        };
        for (long[] c : cases) {
            Files.write(image, good);
            if (c[0] == 16) {
                poke(8, 0x1000, 8);
            }
            poke(c[0], c[1], (int) c[2]);
            BlockException e = openFails(true);
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "offset " + c[0]);
        }
        Files.write(image, good);
        poke(72, 1L << 20, 8);
        assertEquals("Unsupported qcow2 feature(s): Unknown incompatible feature: 100000", openFails(true).getMessage());
        Files.write(image, good);
        poke(20, 22, 4);
        assertEquals("Unsupported cluster size: 2^22", openFails(true).getMessage());
    }

    @Test
    void corruptAndSnapshotImagesStayReadOnly() throws IOException {
        poke(72, 2, 8); // corrupt bit
        assertEquals("Image is corrupt; cannot be opened read/write", openFails(false).getMessage());
        assertEquals(0x5a, read(0, 1)[0]);
        Files.delete(image);
        img("create", "-q", "-f", "qcow2", image, "8M");
        io(image, "write -P 0x11 0 64k");
        img("snapshot", "-c", "snap1", image);
        io(image, "write -P 0x22 0 4k");
        assertTrue(openFails(false).getMessage().contains("internal snapshots"));
        assertEquals(0x22, read(0, 1)[0]);
        assertEquals(0x11, read(4096, 1)[0]);
        Qemu.Result r = Qemu.run("qemu-img", "check", image.toString());
        assertEquals(0, r.exit());
        BlockGraph g = new BlockGraph();
        try {
            Qcow2Driver d = (Qcow2Driver) g.open(BlockOptions.empty().with("file", image.toString()).with("read-only", "on")).driver();
            CheckResult cr = d.check(Qcow2Check.Repair.NONE, m -> { });
            assertEquals(0, cr.exitCode(), "snapshot references are counted");
        } finally {
            g.closeAll();
        }
    }

    @Test
    void dirtyImageIsRepairedOnReadWriteOpen() throws IOException {
        Path lazy = dir.resolve("lazy.qcow2");
        img("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", lazy, "8M");
        // a crash of a lazy-refcounts writer: qemu-io aborts without flushing refcounts
        Qemu.run("qemu-io", "-c", "write -P 0x33 0 256k", "-c", "abort", lazy.toString());
        assertEquals(2, Qemu.check(lazy).exit(), "setup: refcounts should be stale");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", lazy.toString()));
            n.write(300 << 10, ByteBuffer.wrap(new byte[] {1}));
        } finally {
            g.closeAll();
        }
        Qemu.Result r = Qemu.check(lazy);
        assertEquals(0, r.exit(), r.output());
        assertEquals(0x33, Qemu.rawOf(lazy)[1000]);
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(lazy));
        assertEquals(0, h.getLong(72) & 1, "dirty bit cleared");
    }

    @Test
    void badBackingChains() throws IOException {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        img("create", "-q", "-f", "qcow2", a, "8M");
        img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b);
        img("rebase", "-u", "-b", "b.qcow2", "-F", "qcow2", a); // a -> b -> a
        BlockGraph g = new BlockGraph();
        try {
            BlockException e = assertThrows(BlockException.class,
                    () -> g.open(BlockOptions.empty().with("file", b.toString()).with("read-only", "on")));
            assertTrue(e.getMessage().contains("loops"), e.getMessage());
        } finally {
            g.closeAll();
        }
        Files.createDirectory(dir.resolve("d"));
        img("rebase", "-u", "-b", "d", "-F", "qcow2", b);
        image = b;
        assertTrue(openFails(true).getMessage().contains("Is a directory"));
        img("rebase", "-u", "-b", "missing.qcow2", "-F", "qcow2", b);
        assertTrue(openFails(true).getMessage().contains("No such file or directory"));
        img("rebase", "-u", "-b", "json:{\"driver\":\"null-co\"}", "-F", "qcow2", b);
        openFails(true);
    }

    @Test
    void garbageCompressedClusterFailsTheRead() throws IOException {
        Path c = dir.resolve("c.qcow2");
        img("create", "-q", "-f", "qcow2", c, "1M");
        io(c, "write -c -P 0x44 0 64k");
        byte[] b = Files.readAllBytes(c);
        ByteBuffer bb = ByteBuffer.wrap(b);
        long l2 = bb.getLong(0x30000) & 0x00FFFFFFFFFFFE00L;
        long coff = bb.getLong((int) l2) & ((1L << 54) - 1);
        for (int i = 0; i < 40; i++) {
            b[(int) coff + i] = (byte) 0xFF;
        }
        Files.write(c, b);
        image = c;
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", c.toString()).with("read-only", "on"));
            BlockException e = assertThrows(BlockException.class, () -> n.read(0, ByteBuffer.allocate(512)));
            assertEquals(BlockException.Kind.CORRUPT, e.kind());
        } finally {
            g.closeAll();
        }
    }

    @Test
    void writesThatWouldOverwriteMetadataMarkTheImageCorrupt() throws IOException {
        poke(0x20000 + 2 * 3, 0, 2); // the L1 table's refcount says "free"
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", image.toString()));
            n.write(0, ByteBuffer.wrap(new byte[] {1})); // an allocated cluster: in place, fine
            BlockException e = assertThrows(BlockException.class, () -> n.write(4 << 20, ByteBuffer.allocate(4096)));
            assertEquals(BlockException.Kind.CORRUPT, e.kind());
            assertTrue(e.getMessage().contains("active L1 table"), e.getMessage());
            assertThrows(BlockException.class, () -> n.write(0, ByteBuffer.allocate(1)));
        } finally {
            g.closeAll();
        }
        assertTrue(img("info", image).contains("corrupt: true"));
        assertEquals("Image is corrupt; cannot be opened read/write", openFails(false).getMessage());
        assertEquals(1, read(0, 1)[0]);
    }
}
