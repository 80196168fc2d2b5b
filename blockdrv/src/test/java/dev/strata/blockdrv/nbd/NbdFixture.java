package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.BitSet;

/** A graph with qcow2 images and an NBD server on a unix socket in a test's directory. */
final class NbdFixture implements AutoCloseable {

    final Path dir;
    final BlockGraph graph = new BlockGraph();
    NbdServer server;
    private int images;

    NbdFixture(Path dir) {
        this.dir = dir;
    }

    /** A new qcow2 image of {@code size} bytes opened as a backend. */
    BlockBackend qcow2(long size, boolean writable) {
        Path f = dir.resolve("img" + (images++) + ".qcow2");
        DriverRegistry.standard().require("qcow2").create(f, size, BlockOptions.empty());
        BlockNode n = graph.open(BlockOptions.parse("file=" + f + ",format=qcow2" + (writable ? "" : ",read-only=on"), null));
        return graph.createBackend("be" + images, n, BlockBackend.CacheMode.WRITEBACK);
    }

    NbdServer startUnix(NbdServerOptions options) {
        server = NbdServer.start(NbdListenAddress.unix(dir.resolve("nbd.sock")), options);
        return server;
    }

    NbdServer startTcp(NbdServerOptions options) {
        server = NbdServer.start(NbdListenAddress.inet("127.0.0.1", 0), options);
        return server;
    }

    static void fill(BlockBackend be, long offset, int len, int value) {
        ByteBuffer b = ByteBuffer.allocate(len);
        while (b.hasRemaining()) {
            b.put((byte) value);
        }
        be.write(offset, b.flip());
    }

    /** A dirty bitmap of 64 KiB granularity kept in a BitSet, as the jobs module's would be. */
    static final class TestBitmap implements NbdDirtyBitmap {
        static final int GRANULARITY = 64 << 10;
        private final String name;
        private final BitSet bits = new BitSet();
        private final long size;

        TestBitmap(String name, long size) {
            this.name = name;
            this.size = size;
        }

        void mark(long offset, long len) {
            bits.set((int) (offset / GRANULARITY), (int) ((offset + len + GRANULARITY - 1) / GRANULARITY));
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Run firstRun(long offset, long maxBytes) {
            int i = (int) (offset / GRANULARITY);
            boolean dirty = bits.get(i);
            int next = dirty ? bits.nextClearBit(i) : bits.nextSetBit(i);
            long end = next < 0 ? size : Math.min(size, (long) next * GRANULARITY);
            return new Run(dirty, Math.min(maxBytes, end - offset));
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop();
        }
        graph.closeAll();
    }
}
