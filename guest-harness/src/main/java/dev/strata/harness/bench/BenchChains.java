package dev.strata.harness.bench;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The qcow2 backing chains the copy benchmarks work on: layers {@code L0.qcow2} (base) up to the
 * top, 64 KiB clusters, each backed by the one before, filled with random data from a seeded
 * generator so every run, Strata's and QEMU's, meets the same images. Stateless; runs on the
 * calling thread.
 */
public final class BenchChains {

    private static final long MIB = 1 << 20;

    private BenchChains() {
    }

    /** Layer {@code i} allocates about {@code fill[i]} of the disk: each run of {@code run} bytes with that probability. */
    public static void build(Path dir, long size, double[] fill, int run, long seed) {
        Random rnd = new Random(seed);
        byte[] data = new byte[run];
        for (int i = 0; i < fill.length; i++) {
            double share = fill[i];
            layer(dir, i, size, n -> {
                for (long r = 0; r < size / run; r++) {
                    if (rnd.nextDouble() < share) {
                        rnd.nextBytes(data);
                        n.write(r * run, ByteBuffer.wrap(data));
                    }
                }
            });
        }
    }

    /**
     * A three-layer chain of {@code size} virtual bytes holding about {@code data} bytes in all
     * (half in the base, a quarter in each layer above), written as whole MiB at random places.
     */
    public static void buildSparse(Path dir, long size, long data) {
        Random rnd = new Random(7);
        byte[] buf = new byte[(int) MIB];
        long[] share = {data / 2, data / 4, data / 4};
        for (int i = 0; i < share.length; i++) {
            long bytes = share[i];
            layer(dir, i, size, n -> {
                for (long done = 0; done < bytes; done += MIB) {
                    rnd.nextBytes(buf);
                    n.write(rnd.nextLong(size / MIB) * MIB, ByteBuffer.wrap(buf));
                }
            });
        }
    }

    /** Creates layer {@code L<i>.qcow2} (backed by the layer below it), lets {@code fill} write it, flushes it. */
    private static void layer(Path dir, int i, long size, Consumer<BlockNode> fill) {
        Path p = dir.resolve("L" + i + ".qcow2");
        BlockOptions o = BlockOptions.empty().with("cluster_size", "65536");
        if (i > 0) {
            o = o.with("backing_file", "L" + (i - 1) + ".qcow2").with("backing_fmt", "qcow2");
        }
        DriverRegistry.standard().require("qcow2").create(p, size, o);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("driver", "qcow2").with("file", p.toString()));
            fill.accept(n);
            n.flush();
        } finally {
            g.closeAll();
        }
    }
}
