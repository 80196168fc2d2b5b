package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The seed's demo machine: its chain on disk, its command line, and a session at its prompt. */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DemoMachineTest {

    @TempDir
    Path dir;

    private static byte[] read(BlockNode n, long offset, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        n.read(offset, b);
        return b.array();
    }

    @Test
    void chainHoldsEachLayersDataAndTheTopWinsTheSharedRange() {
        DemoMachine.createChain(dir);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode e = g.open(BlockOptions.empty().with("file", DemoMachine.image(dir, 'E').toString()));
            assertEquals("qcow2", e.formatName());
            assertEquals(4, e.chainDepth());
            assertEquals(128L << 20, e.size());
            for (int layer = 0; layer < 5; layer++) {
                char letter = "ABCDE".charAt(layer);
                long off = layer * DemoMachine.LAYER_BYTES + 4096;
                assertEquals(new String(DemoMachine.sector(letter, off >> 9), StandardCharsets.US_ASCII),
                        new String(read(e, off, 512), StandardCharsets.US_ASCII), "layer " + letter);
            }
            assertEquals(new String(DemoMachine.sector('E', DemoMachine.SHARED_OFFSET >> 9), StandardCharsets.US_ASCII),
                    new String(read(e, DemoMachine.SHARED_OFFSET, 512), StandardCharsets.US_ASCII));
            assertEquals(0, read(e, DemoMachine.GUEST_OFFSET, 512)[0], "the guest's half starts empty");
            assertEquals("file-D.img", e.backingFileName(), "relative backing names, as a user writes them");
        } finally {
            g.closeAll();
        }
        UsageException again = assertThrows(UsageException.class, () -> DemoMachine.createChain(dir));
        assertTrue(again.line().contains("already holds a chain"), again.line());
    }

    @Test
    void commandLineNamesEveryLayer() {
        DemoMachine.createChain(dir);
        MachineConfig c = new CommandLineParser().parse(DemoMachine.commandLine(dir));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (StrataMachine m = new MachineBuilder(new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err)).build(c)) {
            BlockNode top = m.graph().backend("virtio0").root();
            assertEquals("node-E", top.nodeName());
            StringBuilder names = new StringBuilder();
            for (BlockNode n = top; n != null; n = n.backing()) {
                names.append(n.nodeName()).append(' ').append(Path.of(n.filename()).getFileName()).append("; ");
            }
            assertEquals("node-E file-E.img; node-D file-D.img; node-C file-C.img; node-B file-B.img; node-A file-A.img; ", names.toString());
            assertEquals("/machine/peripheral-anon/device[0]/virtio-backend", m.graph().backend("virtio0").attachedTo());
        }
    }

    @Test
    void demoSessionAtThePrompt() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new Launcher(new ByteArrayInputStream("info status\nstop\ninfo status\ninfo block-jobs\ninfo block\nquit\n".getBytes()),
                new PrintStream(out, true), new PrintStream(err, true)).runDemo(dir.resolve("demo"));
        String o = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, err.toString());
        assertTrue(o.startsWith("Strata demo machine\n  folder:  " + dir.resolve("demo")), o);
        assertTrue(o.contains("snapshot_blkdev virtio0 " + dir.resolve("demo").resolve("snap.qcow2") + " qcow2"), o);
        assertTrue(o.contains("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) "), o);
        assertTrue(o.contains("(qemu) VM status: running\r\n(qemu) (qemu) VM status: paused\r\n(qemu) No active jobs\r\n(qemu) "), o);
        Path demo = dir.resolve("demo");
        assertTrue(o.contains("(qemu) virtio0 (node-E): " + demo.resolve("file-E.img") + " (qcow2)\r\n"
                + "    Attached to:      /machine/peripheral-anon/device[0]/virtio-backend\r\n"
                + "    Cache mode:       writeback\r\n"
                + "    Backing file:     " + demo.resolve("file-D.img") + " (chain depth: 4)\r\n(qemu) "), o);
        assertTrue(o.substring(0, o.indexOf("QEMU 7.2.22 monitor")).lines().count() <= 20, "the banner fits one screen");
        assertTrue(o.contains("guest: virtio0-randrw on virtio0: "), o);
        assertTrue(o.contains("guest verify: virtio0: verified ") && o.contains("OK, no failures"), o);
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void endOfInputQuitsToo() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = new Launcher(new ByteArrayInputStream(new byte[0]), new PrintStream(out, true),
                new PrintStream(new ByteArrayOutputStream(), true)).runMachine(Arrays.asList("-drive",
                "file=" + make() + ",format=raw,if=virtio", "-S"));
        assertEquals(0, status);
        assertTrue(out.toString().endsWith("(qemu) \r\n"), out.toString());
    }

    private String make() {
        Path p = dir.resolve("r.img");
        try (var f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1 << 20);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return p.toString();
    }
}
