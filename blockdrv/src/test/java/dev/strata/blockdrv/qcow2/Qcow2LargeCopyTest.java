package dev.strata.blockdrv.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.Buffers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The large-copy path: reads of 64 KiB and more through a 3-layer chain into direct and heap
 * buffers (direct ones of that size bypass the memory mapping), and writes of 64 KiB..1 MiB
 * from both kinds, at offsets that cross cluster and extent boundaries, allocating and in
 * place, several in flight. Checked against a model, QEMU's reading of the images and
 * {@code qemu-img check}.
 */
@Timeout(180)
class Qcow2LargeCopyTest {

    private static final int SIZE = 16 << 20;
    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    /** L0..L2, each allocating random runs (some partial clusters); returns the guest view of the top. */
    private byte[] chain(Random r) {
        byte[] model = new byte[SIZE];
        for (int i = 0; i < 3; i++) {
            Path p = dir.resolve("L" + i + ".qcow2");
            Qcow2WriteInteropTest.create(p, SIZE, i == 0 ? "cluster_size=65536"
                    : "cluster_size=65536,backing_file=L" + (i - 1) + ".qcow2,backing_fmt=qcow2");
            BlockGraph g = new BlockGraph();
            try {
                BlockNode n = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", p.toString()));
                for (int k = 0; k < 40; k++) {
                    int off = r.nextInt(SIZE - 300_000);
                    byte[] data = new byte[1 + r.nextInt(300_000)];
                    r.nextBytes(data);
                    n.write(off, ByteBuffer.wrap(data));
                    System.arraycopy(data, 0, model, off, data.length);
                }
            } finally {
                g.closeAll();
            }
        }
        return model;
    }

    private static ByteBuffer buffer(int len, boolean direct) {
        return direct ? ByteBuffer.allocateDirect(len) : ByteBuffer.allocate(len);
    }

    @Test
    void largeReadsThroughTheChainMatchTheModel() throws IOException {
        Random r = new Random(11);
        byte[] model = chain(r);
        assertArrayEquals(model, Qemu.rawOf(dir.resolve("L2.qcow2")));
        BlockGraph g = new BlockGraph();
        try {
            BlockNode top = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", dir.resolve("L2.qcow2").toString())
                    .with("read-only", "on"));
            for (int k = 0; k < 300; k++) {
                boolean direct = k % 2 == 0;
                int len = (64 << 10) + r.nextInt(1 << 20);
                int off = k % 3 == 0 ? r.nextInt(SIZE / CLUSTER - 20) * CLUSTER : r.nextInt(SIZE - len);
                ByteBuffer b = buffer(len + 100, direct);
                b.position(37).limit(37 + len); // not at the start of the buffer
                top.read(off, b);
                assertEquals(37 + len, b.position());
                for (int i = 0; i < len; i++) {
                    if (b.get(37 + i) != model[off + i]) {
                        throw new AssertionError("byte " + (off + i) + " differs (direct " + direct + ", read of " + len + " at " + off + ")");
                    }
                }
            }
        } finally {
            g.closeAll();
        }
    }

    @Test
    void largeWritesFromDirectAndHeapBuffersAllocateAndOverwrite() throws Exception {
        Random r = new Random(12);
        byte[] model = chain(r);
        Path topFile = dir.resolve("L2.qcow2");
        BlockGraph g = new BlockGraph();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            BlockNode top = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", topFile.toString()));
            for (int round = 0; round < 3; round++) {
                // non-overlapping pieces per round, several in flight, as a job writes them
                List<Future<?>> done = new ArrayList<>();
                int pos = r.nextInt(CLUSTER);
                while (true) {
                    int len = (64 << 10) + r.nextInt((1 << 20) - (64 << 10) + 1);
                    if (pos + len > SIZE) {
                        break;
                    }
                    byte[] data = new byte[len];
                    r.nextBytes(data);
                    System.arraycopy(data, 0, model, pos, len);
                    int off = pos;
                    boolean direct = r.nextBoolean();
                    boolean pooled = r.nextInt(4) == 0;
                    done.add(pool.submit(() -> {
                        if (pooled) {
                            try (Buffers.Lease l = Buffers.lease(len)) {
                                top.write(off, l.buffer().put(data).flip());
                            }
                        } else {
                            top.write(off, buffer(len, direct).put(data).flip());
                        }
                        return null;
                    }));
                    pos += len + (r.nextBoolean() ? 0 : r.nextInt(3 * CLUSTER));
                }
                for (Future<?> f : done) {
                    f.get();
                }
                ByteBuffer all = ByteBuffer.allocateDirect(SIZE);
                top.read(0, all);
                byte[] got = new byte[SIZE];
                all.flip().get(got);
                assertArrayEquals(model, got, "round " + round);
            }
            top.flush();
        } finally {
            pool.shutdown();
            g.closeAll();
        }
        Qcow2WriteInteropTest.assertClean(topFile);
        assertArrayEquals(model, Qemu.rawOf(topFile));
    }

    @Test
    void copyOnReadThroughPooledBuffersCopiesTheChain() throws IOException {
        Random r = new Random(13);
        byte[] model = chain(r);
        Path topFile = dir.resolve("L2.qcow2");
        BlockGraph g = new BlockGraph();
        try {
            BlockNode top = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", topFile.toString()));
            long copied = 0;
            for (long off = 0; off < SIZE; off += 3 << 20) {
                copied += top.copyOnRead(off, (int) Math.min(3 << 20, SIZE - off));
            }
            assertEquals(true, copied > 0);
            top.flush();
        } finally {
            g.closeAll();
        }
        Qcow2WriteInteropTest.assertClean(topFile);
        // with everything copied up, the top alone (backing cut off) must show the whole disk
        Qemu.img("rebase", "-u", "-b", "", topFile);
        assertArrayEquals(model, Qemu.rawOf(topFile));
    }
}
