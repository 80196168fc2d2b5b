package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest-activity counters jobs read: backend requests count, node-level requests do not. */
class BackendRequestCountTest {

    @TempDir
    Path dir;
    final BlockGraph graph = new BlockGraph();

    @AfterEach
    void close() {
        graph.closeAll();
    }

    @Test
    void countsRequestsThroughTheBackendOnly() throws Exception {
        Path f = dir.resolve("a.raw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(1 << 20);
        }
        BlockNode n = graph.open(BlockOptions.parse("file=" + f + ",format=raw", null));
        BlockBackend be = graph.createBackend("virtio0", n, BlockBackend.CacheMode.WRITEBACK);
        long allBefore = BlockBackend.requestsStartedAll();
        be.write(0, ByteBuffer.allocate(4096));
        be.read(0, ByteBuffer.allocate(4096));
        be.writeZeroes(4096, 4096, false);
        be.discard(8192, 4096);
        n.read(0, ByteBuffer.allocate(4096));   // a job's request: not the guest's
        assertEquals(4, be.requestsStarted());
        assertTrue(BlockBackend.requestsStartedAll() - allBefore >= 4);
    }
}
