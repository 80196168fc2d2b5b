package dev.strata.blockdrv.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.SupportsMakeEmpty;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SupportsMakeEmpty} on qcow2 (the second half of HMP {@code commit}): afterwards QEMU maps
 * the whole top as unallocated, the image reads as its backing file, {@code qemu-img check} finds
 * neither errors nor leaks, and the emptied image still takes writes correctly.
 */
@Timeout(180)
class Qcow2MakeEmptyTest {

    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "cluster_size=4k", "cluster_size=512", "refcount_bits=1", "extended_l2=on", "compat=0.10"})
    void emptiedTopReadsAsItsBackingFileAndChecksClean(String options) throws Exception {
        Path base = dir.resolve("base.qcow2");
        Path top = dir.resolve("top.qcow2");
        Qcow2WriteInteropTest.create(base, SIZE, options);
        Qemu.io(base, "write -P 0x11 0 " + SIZE);
        Qcow2WriteInteropTest.create(top, SIZE, (options.isEmpty() ? "" : options + ",") + "backing_file=base.qcow2,backing_fmt=qcow2");
        // a compressed run too: its host space is freed by byte range, not by whole clusters
        Qemu.io(top, "write -c -P 0x55 0 2M");
        byte[] baseContent = Qemu.rawOf(base);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = Qcow2WriteInteropTest.openRw(g, top);
            Qcow2WriteInteropTest.randomOps(n, new byte[SIZE], 1 << 12, 120, options.hashCode());
            n.flush();
            assertTrue(n.driver() instanceof SupportsMakeEmpty);
            ((SupportsMakeEmpty) n.driver()).makeEmpty();
            assertArrayEquals(baseContent, Qcow2WriteInteropTest.readAll(n), "the top reads as its backing file");
            assertEquals(BlockNodeState.UNALLOCATED_ALL, BlockNodeState.of(n), "nothing allocated in the top");
        } finally {
            g.closeAll();
        }
        assertEquals("8 MiB (0x800000) bytes not allocated at offset 0 bytes (0x0)\n", Qemu.io(top, "map"));
        Qcow2WriteInteropTest.assertClean(top);
        assertArrayEquals(baseContent, Qemu.rawOf(top));

        // the freed clusters are reusable and the refcounts stay exact
        g = new BlockGraph();
        try {
            BlockNode n = Qcow2WriteInteropTest.openRw(g, top);
            byte[] data = new byte[3 << 20];
            Arrays.fill(data, (byte) 0x77);
            n.write(1 << 20, ByteBuffer.wrap(data));
            n.flush();
        } finally {
            g.closeAll();
        }
        Qcow2WriteInteropTest.assertClean(top);
        byte[] expect = baseContent.clone();
        Arrays.fill(expect, 1 << 20, 4 << 20, (byte) 0x77);
        assertArrayEquals(expect, Qemu.rawOf(top));
    }

    /** Whether a node's own layer maps anything, through the generic block-status call. */
    private enum BlockNodeState {
        UNALLOCATED_ALL, SOMETHING_ALLOCATED;

        static BlockNodeState of(BlockNode n) {
            for (long off = 0; off < n.size(); ) {
                var s = n.blockStatus(off, n.size() - off);
                if (s.state().allocated()) {
                    return SOMETHING_ALLOCATED;
                }
                off = s.end();
            }
            return UNALLOCATED_ALL;
        }
    }
}
