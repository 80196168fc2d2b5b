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
import dev.strata.blockdrv.DriverRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Images Strata creates are byte-identical to qemu-img's; backing changes rewrite cluster 0 as QEMU does. */
@Timeout(120)
class Qcow2CreateInteropTest {

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    private static void strataCreate(Path file, long size, String options) {
        BlockOptions o = options.isEmpty() ? BlockOptions.empty() : BlockOptions.parse(options, null);
        DriverRegistry.standard().require("qcow2").create(file, size, o);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "cluster_size=4k", "cluster_size=2M", "compat=0.10", "lazy_refcounts=on",
        "extended_l2=on", "cluster_size=512", "refcount_bits=1", "refcount_bits=64", "cluster_size=16k,extended_l2=on"})
    void createMatchesQemuImgByteForByte(String options) throws IOException {
        for (long size : new long[] {0, 64L << 20, 100L << 30, 3L << 40}) {
            Path q = dir.resolve("q.qcow2");
            Path s = dir.resolve("s.qcow2");
            Qemu.Result qr = options.isEmpty() ? Qemu.run("qemu-img", "create", "-q", "-f", "qcow2", q.toString(), "" + size)
                    : Qemu.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, q.toString(), "" + size);
            if (qr.exit() != 0) {
                // e.g. an L1 table beyond 32 MiB: Strata refuses too
                assertThrows(BlockException.class, () -> strataCreate(s, size, options), qr.output());
                continue;
            }
            strataCreate(s, size, options);
            byte[] qb = Files.readAllBytes(q);
            java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(qb);
            if (size == 0 || qb.length == (3L << h.getInt(20)) + 8L * h.getInt(36)) {
                assertArrayEquals(qb, Files.readAllBytes(s), "create " + options + " size " + size);
            } else {
                // L1 too big for one refcount block: QEMU lays out extra refcount blocks after the
                // L1, Strata before it; both are valid, so only cleanliness and the header matter
                Qemu.Result r = Qemu.check(s);
                assertEquals(0, r.exit(), r.output());
                assertEquals(img("info", "--output=json", q).replace("q.qcow2", "x").replaceAll("\"actual-size\": \\d+", ""),
                        img("info", "--output=json", s).replace("s.qcow2", "x").replaceAll("\"actual-size\": \\d+", ""));
            }
        }
    }

    @Test
    void tinyClusterLargeImageIsCleanAndReadable() throws IOException {
        Path s = dir.resolve("s.qcow2");
        strataCreate(s, 1L << 30, "cluster_size=512");
        Qemu.Result r = Qemu.check(s);
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("No errors were found on the image."), r.output());
    }

    @Test
    void overlayMatchesQemuImg() throws IOException {
        Path base = dir.resolve("base.qcow2");
        img("create", "-q", "-f", "qcow2", base, "32M");
        Path q = dir.resolve("q.qcow2");
        Path s = dir.resolve("s.qcow2");
        img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", q);
        strataCreate(s, -1, "backing_file=base.qcow2,backing_fmt=qcow2");
        assertArrayEquals(Files.readAllBytes(q), Files.readAllBytes(s));
        img("create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.qcow2", "-F", "qcow2", q, "64M");
        strataCreate(s, 64L << 20, "compat=0.10,backing_file=base.qcow2,backing_fmt=qcow2");
        assertArrayEquals(Files.readAllBytes(q), Files.readAllBytes(s));
    }

    @Test
    void badOptionsAreRefused() {
        Path s = dir.resolve("s.qcow2");
        assertThrows(BlockException.class, () -> strataCreate(s, 1 << 20, "cluster_size=3000"));
        assertThrows(BlockException.class, () -> strataCreate(s, 1 << 20, "cluster_size=4M"));
        assertThrows(BlockException.class, () -> strataCreate(s, 1 << 20, "compat=2.0"));
        assertThrows(BlockException.class, () -> strataCreate(s, 1 << 20, "compat=0.10,lazy_refcounts=on"));
        assertThrows(BlockException.class, () -> strataCreate(s, 1 << 20, "cluster_size=4k,extended_l2=on"));
        assertThrows(BlockException.class, () -> strataCreate(s, 1000, ""));
        assertThrows(BlockException.class, () -> strataCreate(s, 1 << 20, "backing_file=missing.qcow2"));
    }

    @Test
    void backingChangeRewritesClusterZeroLikeRebaseUnsafe() throws IOException {
        Path a = dir.resolve("a.qcow2");
        Path a2 = dir.resolve("a2.raw");
        img("create", "-q", "-f", "qcow2", a, "16M");
        io(a, "write -P 0x33 0 1M");
        img("convert", "-O", "raw", a, a2);
        Path q = dir.resolve("q.qcow2");
        Path s = dir.resolve("s.qcow2");
        img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", q);
        io(q, "write -P 0x44 4M 100k");
        Files.copy(q, s);
        img("rebase", "-u", "-b", "a2.raw", "-F", "raw", q);

        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", s.toString()));
            n.changeBackingFile("a2.raw", "raw");
            assertEquals("a2.raw", n.backingFileName());
        } finally {
            g.closeAll();
        }
        assertArrayEquals(Files.readAllBytes(q), Files.readAllBytes(s));
        assertEquals(0, Qemu.check(s).exit());
        Qcow2ReadInteropTest.assertSameContent(Qemu.rawOf(s), Qemu.strataRead(s), "after backing change");

        // an absolute name, then none at all
        g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", s.toString()));
            n.changeBackingFile(a.toAbsolutePath().toString(), "qcow2");
        } finally {
            g.closeAll();
        }
        assertTrue(img("info", "-U", s).contains("backing file: " + a.toAbsolutePath()));
        Qcow2ReadInteropTest.assertSameContent(Qemu.rawOf(s), Qemu.strataRead(s), "absolute backing");
        g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", s.toString()));
            n.changeBackingFile(null, null);
        } finally {
            g.closeAll();
        }
        img("rebase", "-u", "-b", "", q);
        assertArrayEquals(Files.readAllBytes(q), Files.readAllBytes(s));
    }
}
