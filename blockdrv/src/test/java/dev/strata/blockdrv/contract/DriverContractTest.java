package dev.strata.blockdrv.contract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every driver keeps, run through the generic request path of {@link BlockNode}.
 * Each driver adds a tiny subclass that says how to open a fresh node of {@link #SIZE} bytes
 * and whether written data is kept (null-co drops it).
 */
public abstract class DriverContractTest {

    protected static final long SIZE = 4L << 20;

    @TempDir
    protected Path dir;
    protected BlockGraph graph;
    protected BlockNode node;

    /** Opens a writable node of exactly {@link #SIZE} bytes, zero-filled, in {@code dir}. */
    protected abstract BlockNode open(BlockGraph graph, Path dir) throws Exception;

    /** False for drivers that drop writes (null-co). */
    protected boolean keepsData() {
        return true;
    }

    @BeforeEach
    void openNode() throws Exception {
        graph = new BlockGraph();
        node = open(graph, dir);
    }

    @AfterEach
    void closeGraph() {
        graph.closeAll();
    }

    protected static ByteBuffer pattern(int len, long seed) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        return ByteBuffer.wrap(b);
    }

    protected byte[] readBytes(long offset, int len) {
        ByteBuffer buf = ByteBuffer.allocate(len);
        node.read(offset, buf);
        assertEquals(len, buf.position(), "read must fill the whole buffer");
        return buf.array();
    }

    @Test
    void sizeIsAsCreated() {
        assertEquals(SIZE, node.size());
    }

    @Test
    void freshNodeReadsZeros() {
        assertArrayEquals(new byte[65536], readBytes(SIZE - 65536, 65536));
    }

    @Test
    void writeThenReadBackAtOddOffsets() {
        if (!keepsData()) {
            return;
        }
        long[] offsets = {0, 512, 4096 - 7, 65536 + 3, SIZE - 1000};
        for (int i = 0; i < offsets.length; i++) {
            int len = (int) Math.min(12345, SIZE - offsets[i]);
            ByteBuffer data = pattern(len, i);
            node.write(offsets[i], data.duplicate());
            assertArrayEquals(data.array(), readBytes(offsets[i], len), "offset " + offsets[i]);
        }
    }

    @Test
    void unalignedWriteKeepsNeighbours() {
        if (!keepsData()) {
            return;
        }
        node.write(0, pattern(8192, 1).duplicate());
        byte[] before = readBytes(0, 8192);
        node.write(100, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        byte[] after = readBytes(0, 8192);
        before[100] = 1;
        before[101] = 2;
        before[102] = 3;
        assertArrayEquals(before, after);
    }

    @Test
    void writeZeroesReadsZeros() {
        node.write(65536, pattern(131072, 2).duplicate());
        node.writeZeroes(65536, 131072, false);
        assertArrayEquals(new byte[131072], readBytes(65536, 131072));
        node.writeZeroes(70000, 100, true);
        assertArrayEquals(new byte[100], readBytes(70000, 100));
    }

    @Test
    void discardNeverFailsAndNeverCorruptsNeighbours() {
        if (!keepsData()) {
            node.discard(0, 65536);
            return;
        }
        ByteBuffer data = pattern(3 * 65536, 3);
        node.write(0, data.duplicate());
        node.discard(65536, 65536);
        assertArrayEquals(java.util.Arrays.copyOfRange(data.array(), 0, 65536), readBytes(0, 65536));
        assertArrayEquals(java.util.Arrays.copyOfRange(data.array(), 131072, 196608), readBytes(131072, 65536));
    }

    @Test
    void flushSucceeds() {
        node.write(0, pattern(4096, 4).duplicate());
        node.flush();
    }

    @Test
    void blockStatusCoversTheRangeAndReportsWrittenData() {
        if (keepsData()) {
            node.write(0, pattern(65536, 5).duplicate());
        }
        long pos = 0;
        while (pos < SIZE) {
            BlockStatus s = node.blockStatus(pos, SIZE - pos);
            assertEquals(pos, s.offset());
            assertTrue(s.length() > 0 && s.end() <= SIZE);
            if (keepsData() && pos == 0) {
                assertEquals(BlockStatus.State.DATA, s.state(), "written data must show as data");
            }
            pos = s.end();
        }
        assertEquals(SIZE, pos);
    }

    @Test
    void requestsOutOfBoundsAreRefusedCleanly() {
        BlockException e1 = assertThrows(BlockException.class, () -> node.read(SIZE - 10, ByteBuffer.allocate(11)));
        assertEquals(BlockException.Kind.INVALID_ARGUMENT, e1.kind());
        assertThrows(BlockException.class, () -> node.write(-1, ByteBuffer.allocate(1)));
        assertThrows(BlockException.class, () -> node.writeZeroes(SIZE, 1, false));
        assertThrows(BlockException.class, () -> node.discard(Long.MAX_VALUE, 2));
        assertThrows(BlockException.class, () -> node.blockStatus(SIZE, 1));
    }

    @Test
    void readPaddedFillsZerosPastTheEnd() {
        if (keepsData()) {
            node.write(SIZE - 4, ByteBuffer.wrap(new byte[] {9, 9, 9, 9}));
        }
        ByteBuffer buf = ByteBuffer.allocate(16);
        node.readPadded(SIZE - 4, buf);
        byte[] expect = new byte[16];
        if (keepsData()) {
            expect[0] = expect[1] = expect[2] = expect[3] = 9;
        }
        assertArrayEquals(expect, buf.array());
    }

    @Test
    void zeroLengthRequestsAreNoOps() {
        node.read(SIZE, ByteBuffer.allocate(0));
        node.write(SIZE, ByteBuffer.allocate(0));
        node.writeZeroes(0, 0, false);
    }
}
