package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The hooks between a successful write and its completion (mirror's write-blocking mode). */
class WrittenNotifierTest {

    private static final class Recorder implements WriteNotifier {
        final List<String> seen = new ArrayList<>();

        @Override
        public void beforeWrite(BlockNode node, long offset, long bytes) {
            seen.add("before " + offset + "+" + bytes);
        }

        @Override
        public void written(BlockNode node, long offset, ByteBuffer data) {
            int first = data.get(data.position()) & 0xff;
            seen.add("written " + offset + "+" + data.remaining() + " first=" + first + " readOnly=" + data.isReadOnly()
                    + " inflight=" + node.inFlightRequests());
        }

        @Override
        public void zeroed(BlockNode node, long offset, long bytes, boolean mayUnmap) {
            seen.add("zeroed " + offset + "+" + bytes + " unmap=" + mayUnmap);
        }

        @Override
        public void afterWrite(BlockNode node, long offset, long bytes) {
            seen.add("after " + offset + "+" + bytes);
        }
    }

    @Test
    void writtenSeesTheExactDataAfterTheRequestLeftTheNodeAndBeforeAfterWrite() {
        BlockGraph g = new BlockGraph();
        BlockNode n = g.open(BlockOptions.of(Map.of("driver", "null-co", "size", "1M")));
        Recorder r = new Recorder();
        n.addWriteNotifier(r);
        ByteBuffer src = ByteBuffer.allocate(1024);
        src.put(100, (byte) 0x5a).position(100).limit(612);
        n.write(8192, src);
        assertEquals(612, src.position(), "the writer's buffer is consumed as before");
        n.writeZeroes(0, 4096, true);
        n.discard(0, 4096);
        assertEquals(List.of("before 8192+512", "written 8192+512 first=90 readOnly=true inflight=0", "after 8192+512",
                "before 0+4096", "zeroed 0+4096 unmap=true", "after 0+4096"), r.seen.subList(0, 6));
        assertTrue(r.seen.subList(6, r.seen.size()).stream().noneMatch(s -> s.startsWith("written") || s.startsWith("zeroed")),
                "a discard gets no written/zeroed call: " + r.seen);
    }

    @Test
    void aFailedWriteGetsOnlyBeforeAndAfter() {
        BlockGraph g = new BlockGraph();
        BlockNode n = g.open(BlockOptions.of(Map.of("driver", "fault-injection", "file.driver", "null-co", "file.size", "1M")));
        ((FaultInjectionDriver) n.driver()).inject(FaultRule.everywhere(FaultRule.Op.WRITE, BlockException.Kind.IO));
        Recorder r = new Recorder();
        n.addWriteNotifier(r);
        assertThrows(BlockException.class, () -> n.write(0, ByteBuffer.allocate(512)));
        assertThrows(BlockException.class, () -> n.writeZeroes(0, 512, false));
        assertEquals(List.of("before 0+512", "after 0+512", "before 0+512", "after 0+512"), r.seen);
    }
}
