package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link BlockNode#writeCompressed}: alignment, bounds, read-only, notifiers, one call per cluster. */
@Timeout(30)
class CompressedWriteRequestTest {

    /** Remembers each cluster handed to it; 4 KiB clusters, 10 KiB disk (a short last cluster). */
    static final class Compressing implements BlockDriver, SupportsCompressedWrites {
        final List<long[]> calls = new ArrayList<>();

        @Override
        public int compressedClusterSize() {
            return 4096;
        }

        @Override
        public void writeCompressed(long offset, ByteBuffer cluster) {
            calls.add(new long[] {offset, cluster.remaining()});
            cluster.position(cluster.limit());
        }

        @Override
        public String formatName() {
            return "squeeze";
        }

        @Override
        public long size() {
            return 10240;
        }

        @Override
        public void read(long offset, ByteBuffer dst) {
            dst.position(dst.limit());
        }

        @Override
        public void write(long offset, ByteBuffer src) {
            src.position(src.limit());
        }

        @Override
        public void flush() {
        }

        @Override
        public BlockStatus blockStatus(long offset, long bytes) {
            return BlockStatus.unallocated(offset, bytes);
        }

        @Override
        public void close() {
        }
    }

    private static BlockNode node(BlockDriver d, boolean readOnly) {
        BlockNode n = new BlockNode("c", false, readOnly, NodeCache.DEFAULT);
        n.bind(d);
        return n;
    }

    @Test
    void splitsIntoClustersIncludingAShortLastOne() {
        Compressing d = new Compressing();
        BlockNode n = node(d, false);
        List<Long> notified = new ArrayList<>();
        n.addWriteNotifier(new WriteNotifier() {
            @Override
            public void written(BlockNode node, long offset, ByteBuffer data) {
                notified.add(-(long) data.remaining());
            }

            @Override
            public void afterWrite(BlockNode node, long offset, long bytes) {
                notified.add(offset);
                notified.add(bytes);
            }
        });
        assertTrue(n.supportsCompressedWrites());
        assertEquals(4096, n.compressedClusterSize());
        ByteBuffer src = ByteBuffer.allocate(10240);
        n.writeCompressed(0, src);
        assertFalse(src.hasRemaining());
        assertEquals(3, d.calls.size());
        assertEquals(4096, d.calls.get(1)[0]);
        assertEquals(8192, d.calls.get(2)[0]);
        assertEquals(2048, d.calls.get(2)[1]);
        assertEquals(List.of(-10240L, 0L, 10240L), notified);
    }

    @Test
    void refusesMisalignedOutOfRangeReadOnlyAndUnsupported() {
        BlockNode n = node(new Compressing(), false);
        BlockException e = assertThrows(BlockException.class, () -> n.writeCompressed(512, ByteBuffer.allocate(4096)));
        assertEquals(BlockException.Kind.INVALID_ARGUMENT, e.kind());
        e = assertThrows(BlockException.class, () -> n.writeCompressed(0, ByteBuffer.allocate(1000)));
        assertEquals(BlockException.Kind.INVALID_ARGUMENT, e.kind());
        e = assertThrows(BlockException.class, () -> n.writeCompressed(8192, ByteBuffer.allocate(4096)));
        assertEquals(BlockException.Kind.INVALID_ARGUMENT, e.kind());
        BlockNode ro = node(new Compressing(), true);
        e = assertThrows(BlockException.class, () -> ro.writeCompressed(0, ByteBuffer.allocate(4096)));
        assertEquals(BlockException.Kind.PERMISSION, e.kind());
        BlockNode plain = node(new RecordingDriver(8192, 4096), false);
        assertFalse(plain.supportsCompressedWrites());
        assertEquals(0, plain.compressedClusterSize());
        e = assertThrows(BlockException.class, () -> plain.writeCompressed(0, ByteBuffer.allocate(4096)));
        assertEquals(BlockException.Kind.UNSUPPORTED, e.kind());
    }
}
