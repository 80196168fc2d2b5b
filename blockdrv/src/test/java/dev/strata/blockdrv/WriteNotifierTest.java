package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WriteNotifierTest {

    @Test
    void writesZeroesAndDiscardsAreNotifiedBeforeAndAfterReadsAndCopiesAreNot() {
        BlockGraph g = new BlockGraph();
        BlockNode n = g.open(BlockOptions.of(Map.of("driver", "null-co", "size", "1M")));
        List<String> seen = new ArrayList<>();
        WriteNotifier w = new WriteNotifier() {
            @Override
            public void beforeWrite(BlockNode node, long offset, long bytes) {
                seen.add("before " + offset + "+" + bytes + " inflight=" + node.inFlightRequests());
            }

            @Override
            public void afterWrite(BlockNode node, long offset, long bytes) {
                seen.add("after " + offset + "+" + bytes);
            }
        };
        n.addWriteNotifier(w);
        n.write(4096, ByteBuffer.allocate(512));
        n.writeZeroes(0, 1024, false);
        n.read(0, ByteBuffer.allocate(4096));
        n.removeWriteNotifier(w);
        n.write(0, ByteBuffer.allocate(1));
        assertEquals(List.of("before 4096+512 inflight=0", "after 4096+512", "before 0+1024 inflight=0", "after 0+1024"), seen);
    }
}
