package dev.strata.blockdrv.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.strata.blockdrv.Buffers;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Direct writes past the end of a file, many at once (as a cache=none job's copies append
 * clusters): whatever the combining does, every byte lands at its own offset, including runs
 * with gaps between them and writes that arrive out of order.
 */
@Timeout(60)
class ExtendingWritesTest {

    @TempDir
    Path dir;

    @Test
    void concurrentAppendsLandAtTheirOwnOffsets() throws Exception {
        Path f = dir.resolve("grow.img");
        Files.write(f, new byte[64 << 10]);
        FileDriver d = new FileDriver(f.toString(), false, false, true, true, false);
        int pieces = 96;
        int piece = 64 << 10;
        byte[] expect = new byte[(64 << 10) + pieces * 2 * piece];
        ExecutorService pool = Executors.newFixedThreadPool(12);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = pieces - 1; i >= 0; i--) {   // submitted back to front
                // every third piece leaves a gap after it, so runs break and the file has holes
                long off = (64 << 10) + (long) i * piece + (i / 3) * (long) piece;
                byte[] data = new byte[piece];
                new Random(i).nextBytes(data);
                System.arraycopy(data, 0, expect, (int) off, piece);
                boolean leased = i % 2 == 0;   // aligned pooled buffers and heap buffers both
                done.add(pool.submit(() -> {
                    go.await();
                    if (leased) {
                        try (Buffers.Lease l = Buffers.lease(piece)) {
                            d.write(off, l.buffer().put(data).flip());
                        }
                    } else {
                        d.write(off, ByteBuffer.wrap(data));
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> x : done) {
                x.get();
            }
        } finally {
            pool.shutdownNow();
            d.close();
        }
        byte[] got = Files.readAllBytes(f);
        long end = (64 << 10) + (long) (pieces - 1) * piece + ((pieces - 1) / 3) * (long) piece + piece;
        assertEquals(end, got.length, "the file ends where the last write ends");
        byte[] want = java.util.Arrays.copyOf(expect, (int) end);
        assertArrayEquals(want, got);
    }
}
