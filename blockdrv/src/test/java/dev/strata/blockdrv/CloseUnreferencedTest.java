package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a job's dropped nodes become: closed unless a drive, an NBD export ({@code hold}), a node
 * left in the graph or the monitor ({@code holdForMonitor}) still reaches them.
 */
class CloseUnreferencedTest {

    @TempDir
    Path dir;
    final BlockGraph graph = new BlockGraph();
    BlockNode top;
    BlockNode mid;
    BlockNode base;

    @BeforeEach
    void chain() throws Exception {
        qemuImg("create", "-f", "qcow2", dir.resolve("base.qcow2").toString(), "1M");
        qemuImg("create", "-f", "qcow2", "-F", "qcow2", "-b", dir.resolve("base.qcow2").toString(),
                dir.resolve("mid.qcow2").toString());
        qemuImg("create", "-f", "qcow2", "-F", "qcow2", "-b", dir.resolve("mid.qcow2").toString(),
                dir.resolve("top.qcow2").toString());
        top = graph.open(BlockOptions.parse("file=" + dir.resolve("top.qcow2") + ",node-name=top", null));
        mid = top.backing();
        base = mid.backing();
    }

    @AfterEach
    void close() {
        graph.closeAll();
    }

    @Test
    void nodesNothingReachesAreClosedAndTheirFilesStay() {
        graph.closeUnreferenced(List.of(top, mid, base));
        assertNull(graph.node("top"));
        assertNull(graph.node(mid.nodeName()));
        assertNull(graph.node(base.nodeName()));
        assertEquals(0, graph.nodesNewestFirst().size());
        assertTrue(Files.exists(dir.resolve("mid.qcow2")));
    }

    @Test
    void aNodeLeftInTheGraphKeepsItsChain() {
        // mid is dropped by a job, but top (not dropped) still uses it, so mid and base stay
        graph.closeUnreferenced(List.of(mid, base));
        assertSame(mid, graph.node(mid.nodeName()));
        assertSame(base, graph.node(base.nodeName()));
    }

    @Test
    void aDrivesChainStays() {
        graph.createBackend("virtio0", top, BlockBackend.CacheMode.WRITEBACK);
        graph.closeUnreferenced(List.of(top, mid, base));
        assertSame(top, graph.node("top"));
        assertSame(base, graph.node(base.nodeName()));
    }

    @Test
    void anExportedNodeKeepsItsChainUntilReleased() {
        graph.hold(mid);
        graph.closeUnreferenced(List.of(top, mid, base));
        assertNull(graph.node("top"));
        assertSame(mid, graph.node(mid.nodeName()));
        assertSame(base, graph.node(base.nodeName()));
        graph.release(mid);
        graph.closeUnreferenced(List.of(mid, base));
        assertNull(graph.node(mid.nodeName()));
        assertNull(graph.node(base.nodeName()));
    }

    @Test
    void aMonitorHeldNodeStaysWithItsChain() {
        graph.holdForMonitor(mid);
        graph.closeUnreferenced(List.of(top, mid, base));
        assertNull(graph.node("top"));
        assertSame(mid, graph.node(mid.nodeName()));
        assertSame(base, graph.node(base.nodeName()));
    }

    private static void qemuImg(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "qemu-img";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "qemu-img is not installed: LOUDLY skipping the closeUnreferenced tests");
            return;
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
    }
}
