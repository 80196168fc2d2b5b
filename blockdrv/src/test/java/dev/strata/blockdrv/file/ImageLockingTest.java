package dev.strata.blockdrv.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Image locks: two writers never share an image, inside one process or across Strata and QEMU. */
@Timeout(60)
class ImageLockingTest {

    @TempDir
    Path dir;
    final BlockGraph graph = new BlockGraph();

    @AfterEach
    void close() {
        graph.closeAll();
    }

    Path image(String name) throws Exception {
        Path f = dir.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(1 << 20);
        }
        return f;
    }

    @Test
    void secondWriterInTheSameProcessIsRefusedWithQemusMessage() throws Exception {
        Path f = image("a.raw");
        graph.open(BlockOptions.parse("file=" + f + ",format=raw", null));
        BlockException e = assertThrows(BlockException.class, () -> graph.open(BlockOptions.parse("file=" + f + ",format=raw", null)));
        assertEquals("Failed to get \"write\" lock\nIs another process using the image [" + f + "]?", e.getMessage());
        // a plain read-only open shares, like qemu-img -U
        BlockNode ro = graph.open(BlockOptions.parse("file=" + f + ",format=raw,read-only=on", null));
        ro.read(0, ByteBuffer.allocate(512));
    }

    @Test
    void reopenForWritingKeepsOneClaim() throws Exception {
        Path f = image("b.raw");
        BlockNode n = graph.open(BlockOptions.parse("file=" + f + ",format=raw,read-only=on", null));
        n.setReadOnly(false);
        n.write(0, ByteBuffer.wrap(new byte[] {5}));
        assertThrows(BlockException.class, () -> graph.open(BlockOptions.parse("file=" + f + ",format=raw", null)));
    }

    @Test
    void lockingOffSkipsTheCheck() throws Exception {
        Path f = image("c.raw");
        graph.open(BlockOptions.parse("file=" + f + ",format=raw", null));
        graph.open(BlockOptions.parse("file=" + f + ",format=raw,locking=off", null));
    }

    @Test
    void qemuSeesStrataLocksAndStrataSeesQemus() throws Exception {
        Assumptions.assumeTrue(Tools.has("qemu-io"), "qemu-io is not installed: LOUDLY skipping the cross-process locking test");
        Path f = image("d.raw");
        BlockNode n = graph.open(BlockOptions.parse("file=" + f + ",format=raw", null));
        Tools.Result r = Tools.run("qemu-io", "-f", "raw", "-c", "write 0 512", f.toString());
        assertNotEquals(0, r.exit());
        assertTrue(r.output().contains("Failed to get \"write\" lock"), r.output());
        Tools.Result shared = Tools.run("qemu-img", "info", "-U", f.toString());
        assertEquals(0, shared.exit(), shared.output());
        graph.close(n);

        // now QEMU holds the image open for writing; Strata must refuse it
        Process holder = new ProcessBuilder("qemu-io", "-f", "raw", f.toString()).redirectErrorStream(true).start();
        try {
            Thread.sleep(300);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            BlockException e = null;
            while (e == null && System.nanoTime() < deadline) {
                try {
                    BlockNode again = graph.open(BlockOptions.parse("file=" + f + ",format=raw", null));
                    graph.close(again);
                    Thread.sleep(100); // qemu-io may not have opened the image yet
                } catch (BlockException ex) {
                    e = ex;
                }
            }
            assertTrue(e != null && e.getMessage().startsWith("Failed to get \"write\" lock"), String.valueOf(e));
        } finally {
            holder.getOutputStream().write("quit\n".getBytes(StandardCharsets.UTF_8));
            holder.getOutputStream().flush();
            if (!holder.waitFor(10, TimeUnit.SECONDS)) {
                holder.destroyForcibly();
            }
        }
    }
}
