package dev.strata.blockdrv.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link ClusterDeflater}: round trip, the "not smaller" answer, and the 4 KiB window. */
@Timeout(60)
class ClusterDeflaterTest {

    @TempDir
    Path dir;

    /** 64 KiB with a random 2 KiB block repeated every 8 KiB: matches a 32 KiB window would take. */
    private static byte[] farRepeats() {
        Random r = new Random(9);
        byte[] block = new byte[2048];
        r.nextBytes(block);
        byte[] in = new byte[65536];
        for (int i = 0; i < in.length; i += 8192) {
            System.arraycopy(block, 0, in, i, block.length);
            byte[] noise = new byte[6144]; // low entropy: compresses locally, no long repeats
            for (int k = 0; k < noise.length; k++) {
                noise[k] = (byte) r.nextInt(16);
            }
            System.arraycopy(noise, 0, in, i + 2048, noise.length);
        }
        return in;
    }

    private static byte[] inflate(byte[] stream, int n, int size) throws Exception {
        Inflater inf = new Inflater(true);
        inf.setInput(Arrays.copyOf(stream, n + 1));
        byte[] out = new byte[size];
        int got = 0;
        while (got < size) {
            int k = inf.inflate(out, got, size - got);
            if (k == 0 && (inf.finished() || inf.needsInput())) {
                break;
            }
            got += k;
        }
        inf.end();
        assertEquals(size, got);
        return out;
    }

    @Test
    void roundTripsAndRefusesWhatDoesNotShrink() throws Exception {
        byte[] text = Qcow2CompressedWriteTest.compressible(new Random(2), 65536);
        byte[] out = new byte[65535];
        int n = ClusterDeflater.compress(text, out);
        assertTrue(n > 0 && n < 65536 / 4, "text compressed to " + n);
        assertArrayEquals(text, inflate(out, n, 65536));
        byte[] small = Qcow2CompressedWriteTest.compressible(new Random(3), 512);
        byte[] smallOut = new byte[511];
        n = ClusterDeflater.compress(small, smallOut);
        assertTrue(n > 0);
        assertArrayEquals(small, inflate(smallOut, n, 512));
        byte[] random = new byte[65536];
        new Random(4).nextBytes(random);
        assertEquals(-1, ClusterDeflater.compress(random, new byte[65535]));
    }

    /**
     * A reader with a real 4 KiB window, inflating in small pieces (Python's zlib, wbits -12),
     * accepts the stream: no back-reference reaches further than QEMU's declared window.
     */
    @Test
    void streamsDecodeWithAFourKibWindow() throws Exception {
        byte[] in = farRepeats();
        byte[] out = new byte[65535];
        int n = ClusterDeflater.compress(in, out);
        assertTrue(n > 0, "far repeats did not compress");
        Path z = dir.resolve("c.z");
        Path plain = dir.resolve("c.bin");
        Files.write(z, Arrays.copyOf(out, n));
        Files.write(plain, in);
        String script = String.join("\n",
                "import sys, zlib",
                "data = open(sys.argv[1], 'rb').read()",
                "d = zlib.decompressobj(-12)",
                "out = b''",
                "while True:",
                "    o = d.decompress(data, 256)",
                "    out += o",
                "    data = d.unconsumed_tail",
                "    if not o and not data:",
                "        break",
                "print('SAME' if out == open(sys.argv[2], 'rb').read() else 'DIFFERENT')");
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", script, z.toString(), plain.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("python3 not installed: 4 KiB window check skipped");
            return;
        }
        String result = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals("SAME", result.trim(), result);
    }
}
