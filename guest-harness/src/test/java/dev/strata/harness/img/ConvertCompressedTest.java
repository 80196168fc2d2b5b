package dev.strata.harness.img;

import static dev.strata.blockdrv.qcow2.Qemu.img;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.qcow2.Qemu;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code strata img convert -c}: output judged by qemu-img, refusals worded as qemu-img words them. */
@Timeout(180)
class ConvertCompressedTest {

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    record Out(int exit, String stdout, String stderr) {
    }

    private static Out strata(Object... args) {
        String[] a = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            a[i] = args[i].toString();
        }
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc = ImgTool.run(a, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Out(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    /** A source chain: base with text-like, random and zero clusters; an overlay changing some. */
    private Path sourceChain(byte[] model) throws IOException {
        Random r = new Random(21);
        Path base = dir.resolve("base.qcow2");
        Path top = dir.resolve("top.qcow2");
        img("create", "-q", "-f", "qcow2", base, model.length);
        Path raw = dir.resolve("fill.raw");
        for (int off = 0; off < model.length; off += 65536) {
            int kind = (off >> 16) % 5;
            if (kind == 4) {
                continue;
            }
            byte[] part = new byte[65536];
            if (kind == 1) {
                r.nextBytes(part);
            } else {
                String line = "cluster " + off + " of a compressible qcow2 source image\n";
                for (int p = 0; p < part.length; p++) {
                    part[p] = (byte) line.charAt(p % line.length());
                }
            }
            System.arraycopy(part, 0, model, off, 65536);
        }
        Files.write(raw, model);
        img("convert", "-n", "-f", "raw", "-O", "qcow2", raw, base);
        img("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top);
        Qemu.io(top, "write -P 0x5a 100k 20k", "write -z 1M 64k");
        for (int i = 100 << 10; i < 120 << 10; i++) {
            model[i] = 0x5a;
        }
        for (int i = 1 << 20; i < (1 << 20) + 65536; i++) {
            model[i] = 0;
        }
        Files.delete(raw);
        return top;
    }

    @Test
    void convertCompressedMatchesTheSourceAndPassesCheck() throws IOException {
        byte[] model = new byte[(4 << 20) + 4096]; // a short last cluster
        Path src = sourceChain(model);
        Path out = dir.resolve("out.qcow2");
        Out o = strata("convert", "-c", "-O", "qcow2", src, out);
        assertEquals(0, o.exit(), o.stderr());
        Qemu.Result check = Qemu.check(out);
        assertEquals(0, check.exit(), check.output());
        assertTrue(check.output().contains("No errors were found on the image."), check.output());
        assertTrue(!check.output().contains(" 0.00% compressed"), check.output());
        img("compare", src, out);
        assertArrayEquals(model, Qemu.rawOf(out));
        assertEquals(0, Files.size(out) % 512, "file padded to a sector, as qemu-img leaves it");
        // zero clusters stay unallocated: every range QEMU maps as not present reads zero in the model
        String map = img("map", "--output=json", out);
        assertTrue(map.contains("\"present\": false"), map);
        // and the result is about as small as qemu-img's own
        Path ref = dir.resolve("ref.qcow2");
        img("convert", "-c", "-O", "qcow2", src, ref);
        assertTrue(Files.size(out) < Files.size(ref) * 3 / 2, Files.size(out) + " vs qemu-img " + Files.size(ref));
    }

    @Test
    void refusalsUseQemuImgWords() throws IOException {
        Path raw = dir.resolve("s.raw");
        Files.write(raw, new byte[1 << 20]);
        Out o = strata("convert", "-c", "-O", "raw", raw, dir.resolve("o.raw"));
        assertEquals(1, o.exit());
        assertEquals("strata img: Compression not supported for this file format\n", o.stderr());
        o = strata("convert", "-c", "-O", "qcow2", "-o", "preallocation=metadata", raw, dir.resolve("o.qcow2"));
        assertEquals(1, o.exit());
        assertEquals("strata img: Compression and preallocation not supported at the same time\n", o.stderr());
        Path existing = dir.resolve("e.raw");
        Files.write(existing, new byte[1 << 20]);
        o = strata("convert", "-c", "-n", "-O", "raw", raw, existing);
        assertEquals(1, o.exit());
        assertEquals("strata img: Compression not supported for this file format\n", o.stderr());
    }

    @Test
    void intoAnExistingImageWithMinusN() throws IOException {
        byte[] model = new byte[2 << 20];
        Path src = sourceChain(model);
        Path out = dir.resolve("n.qcow2");
        img("create", "-q", "-f", "qcow2", out, model.length);
        Out o = strata("convert", "-c", "-n", "-O", "qcow2", src, out);
        assertEquals(0, o.exit(), o.stderr());
        assertEquals(0, Qemu.check(out).exit());
        img("compare", src, out);
        // a second pass meets clusters holding data: refused as qemu-img refuses it
        o = strata("convert", "-c", "-n", "-O", "qcow2", src, out);
        assertEquals(1, o.exit());
        assertEquals("strata img: error while writing at byte 0: Input/output error\n", o.stderr());
        assertEquals(0, Qemu.check(out).exit());
    }
}
