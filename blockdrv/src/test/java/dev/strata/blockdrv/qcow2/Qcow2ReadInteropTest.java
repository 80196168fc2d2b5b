package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qemu.img;
import static dev.strata.blockdrv.qcow2.Qemu.io;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Chains built by qemu-img / qemu-io read back through Strata byte for byte as QEMU reads them. */
@Timeout(120)
class Qcow2ReadInteropTest {

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    static void assertSameContent(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": size");
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                fail(what + ": first difference at byte 0x" + Integer.toHexString(i) + " (qemu 0x"
                        + Integer.toHexString(expected[i] & 0xFF) + ", strata 0x" + Integer.toHexString(actual[i] & 0xFF) + ")");
            }
        }
    }

    private void assertReadsLikeQemu(Path top) throws IOException {
        assertSameContent(Qemu.rawOf(top), Qemu.strataRead(top), top.getFileName().toString());
    }

    /** Three-layer chain with patterns, zero clusters, discards and partial-cluster writes. */
    private Path chain(String clusterSize, String size, String extra) {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        Path c = dir.resolve("c.qcow2");
        String o = "cluster_size=" + clusterSize + extra;
        img("create", "-q", "-f", "qcow2", "-o", o, a, size);
        io(a, "write -P 0xa1 0 3M", "write -P 0xa2 5M 1M", "write -P 0xa3 7000k 5k", "write -P 0xa4 12M 1536k");
        img("create", "-q", "-f", "qcow2", "-o", o, "-b", "a.qcow2", "-F", "qcow2", b);
        io(b, "write -P 0xb1 1M 64k", "write -z 2M 512k", "discard 5M 256k", "write -P 0xb2 7001k 3k",
                "write -P 0xb3 13M 4k", "write -P 0xb4 2300k 5k");
        img("create", "-q", "-f", "qcow2", "-o", o, "-b", "b.qcow2", "-F", "qcow2", c);
        io(c, "write -P 0xc1 0 4k", "write -z 12M 64k", "write -P 0xc2 15M 3M", "discard 15M 1M", "write -P 0xc3 2M 1k");
        return c;
    }

    @Test
    void defaultClustersChain() throws IOException {
        assertReadsLikeQemu(chain("64k", "20M", ""));
    }

    @Test
    void smallClustersChain() throws IOException {
        assertReadsLikeQemu(chain("4k", "20M", ""));
    }

    @Test
    void tinyClustersChain() throws IOException {
        assertReadsLikeQemu(chain("512", "20M", ""));
    }

    @Test
    void hugeClustersChain() throws IOException {
        assertReadsLikeQemu(chain("2M", "20M", ""));
    }

    @Test
    void extendedL2Chain() throws IOException {
        assertReadsLikeQemu(chain("64k", "20M", ",extended_l2=on"));
    }

    @Test
    void extendedL2SubclusterWrites() throws IOException {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", a, "4M");
        io(a, "write -P 0x11 0 4M");
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=32k", "-b", "a.qcow2", "-F", "qcow2", b);
        io(b, "write -P 0x22 2k 2k", "write -P 0x33 74k 5k", "write -z 128k 8k", "write -P 0x44 256k 32k",
                "write -z 260k 1k", "discard 512k 64k");
        assertReadsLikeQemu(b);
    }

    @Test
    void version2Chain() throws IOException {
        assertReadsLikeQemu(chain("64k", "20M", ",compat=0.10"));
    }

    @Test
    void compressedClusters() throws IOException {
        Path raw = dir.resolve("src.raw");
        byte[] data = new byte[8 << 20];
        Random r = new Random(7);
        for (int i = 0; i < data.length; i += 4096) {
            // half compressible text-like blocks, some random, some zero
            int kind = r.nextInt(3);
            for (int j = 0; j < 4096; j++) {
                data[i + j] = kind == 0 ? (byte) ("strata qcow2 " + (i / 4096)).charAt(j % 10) : kind == 1 ? (byte) r.nextInt() : 0;
            }
        }
        Files.write(raw, data);
        Path c = dir.resolve("c.qcow2");
        img("convert", "-c", "-f", "raw", "-O", "qcow2", raw, c);
        assertSameContent(data, Qemu.strataRead(c), "convert -c");
        Path d = dir.resolve("d.qcow2");
        img("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4k", raw, d);
        assertSameContent(data, Qemu.strataRead(d), "convert -c 4k");
        Path o = dir.resolve("o.qcow2");
        img("create", "-q", "-f", "qcow2", "-b", "c.qcow2", "-F", "qcow2", o);
        io(o, "write -c -P 0x5a 1M 64k", "write -P 0x5b 70k 3k");
        assertReadsLikeQemu(o);
    }

    @Test
    void backingShorterThanOverlay() throws IOException {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        img("create", "-q", "-f", "qcow2", a, String.valueOf((8 << 20) + 512));
        io(a, "write -P 0x61 0 8M", "write -P 0x62 8M 512");
        img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b, "16M");
        io(b, "write -P 0x63 8M 1k");
        assertReadsLikeQemu(b);
    }

    @Test
    void backingLongerThanOverlay() throws IOException {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        img("create", "-q", "-f", "qcow2", a, "16M");
        io(a, "write -P 0x71 0 16M");
        img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b, "6M");
        io(b, "write -P 0x72 1M 100k");
        assertReadsLikeQemu(b);
        img("resize", b, "12M");
        assertReadsLikeQemu(b);
    }

    @Test
    void rawBase() throws IOException {
        Path a = dir.resolve("a.raw");
        byte[] data = new byte[4 << 20];
        new Random(3).nextBytes(data);
        Files.write(a, data);
        Path b = dir.resolve("b.qcow2");
        img("create", "-q", "-f", "qcow2", "-b", "a.raw", "-F", "raw", b);
        io(b, "write -P 0x81 100k 200k", "write -z 1M 64k");
        assertReadsLikeQemu(b);
    }

    @Test
    void deepChainWithRelativeNamesInSubdirectories() throws IOException {
        Path prev = null;
        Path sub = Files.createDirectories(dir.resolve("x"));
        for (int i = 0; i < 12; i++) {
            Path img = (i % 2 == 0 ? dir : sub).resolve("l" + i + ".qcow2");
            if (prev == null) {
                img("create", "-q", "-f", "qcow2", img, "8M");
            } else {
                String rel = img.getParent().relativize(prev).toString();
                img("create", "-q", "-f", "qcow2", "-b", rel, "-F", "qcow2", img);
            }
            io(img, "write -P " + (i + 1) + " " + (i * 512) + "k 300k");
            prev = img;
        }
        assertReadsLikeQemu(prev);
    }
}
