package dev.strata.jobs.testing;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A backing chain of {@code depth} images ({@code L0} base ... top) in a given format, each layer
 * holding stamped data in random places, plus the model of what the guest must read: the
 * judge of every stream/commit test. Layers are written one at a time through their own graph,
 * then the whole chain is opened as drive {@code virtio0}.
 */
public final class TestChain {

    public final List<Path> files = new ArrayList<>();
    public final byte[] model;
    public final long size;
    public final String format;
    public BlockGraph graph;
    public BlockBackend backend;

    private TestChain(long size, String format) {
        this.size = size;
        this.format = format;
        this.model = new byte[Math.toIntExact(size)];
    }

    /** Builds the chain; {@code fill} is the fraction of 64 KiB clusters each layer writes. */
    public static TestChain build(Path dir, String format, int depth, long size, double fill, long seed) {
        TestChain c = new TestChain(size, format);
        Random rnd = new Random(seed);
        for (int i = 0; i < depth; i++) {
            Path p = dir.resolve("L" + i + "." + format);
            BlockOptions create = BlockOptions.empty();
            if (i > 0) {
                create = create.with("backing_file", c.files.get(i - 1).getFileName().toString()).with("backing_fmt", format);
            }
            DriverRegistry.standard().require(format).create(p, size, create);
            c.files.add(p);
            BlockGraph g = new BlockGraph();
            BlockNode n = g.open(BlockOptions.of(Map.of("driver", format, "file", p.toString())));
            int clusters = (int) (size >> 16);
            for (int k = 0; k < clusters; k++) {
                if (rnd.nextDouble() >= fill) {
                    continue;
                }
                // a random piece of the cluster, so partial-cluster copy-on-write is exercised too
                long off = ((long) k << 16) + (rnd.nextBoolean() ? 0 : rnd.nextInt(60 << 10));
                int len = 1 + rnd.nextInt((int) Math.min(64 << 10, size - off));
                byte[] data = stamp(0x4c000000 | i, k, len);
                n.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, c.model, (int) off, len);
            }
            n.flush();
            g.closeAll();
        }
        c.open(BlockOptions.of(Map.of("driver", format, "file", c.top().toString())));
        return c;
    }

    /** (Re)opens the chain with explicit options as drive {@code virtio0}. */
    public void open(BlockOptions options) {
        if (graph != null) {
            graph.closeAll();
        }
        graph = new BlockGraph();
        BlockNode root = graph.open(options);
        backend = graph.createBackend("virtio0", root, BlockBackend.CacheMode.WRITEBACK);
    }

    public Path top() {
        return files.get(files.size() - 1);
    }

    public BlockNode node(int layer) {
        BlockNode n = backend.root();
        for (int i = files.size() - 1; i > layer; i--) {
            n = n.backing();
        }
        return n;
    }

    /** Bytes that identify writer, sequence and position, so a misplaced or stale block shows. */
    public static byte[] stamp(int who, long seq, int len) {
        byte[] b = new byte[len];
        ByteBuffer bb = ByteBuffer.wrap(b);
        long x = ((long) who << 32) ^ (seq * 0x9E3779B97F4A7C15L);
        while (bb.remaining() >= 8) {
            bb.putLong(x);
            x = x * 6364136223846793005L + 1442695040888963407L;
        }
        while (bb.hasRemaining()) {
            bb.put((byte) x);
        }
        return b;
    }

    /** First offset where the drive differs from the model, or -1. */
    public long firstMismatch() {
        int step = 1 << 20;
        for (long off = 0; off < size; off += step) {
            int n = (int) Math.min(step, size - off);
            ByteBuffer buf = ByteBuffer.allocate(n);
            backend.read(off, buf);
            byte[] got = buf.array();
            for (int i = 0; i < n; i++) {
                if (got[i] != model[(int) off + i]) {
                    return off + i;
                }
            }
        }
        return -1;
    }

    public void close() {
        if (graph != null) {
            graph.closeAll();
        }
    }
}
