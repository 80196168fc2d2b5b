package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Machines assembled in-process from real command lines over real (raw) image files. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MachineBuilderTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private Path raw(String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    private StrataMachine build(String... args) {
        MachineConfig c = new CommandLineParser().parse(Arrays.asList(args));
        return new MachineBuilder(new ByteArrayInputStream(new byte[0]), new PrintStream(out), new PrintStream(err)).build(c);
    }

    @Test
    void drivesDevicesAndBlockdevsBecomeBackendsWithQemuAttachmentPaths() throws IOException {
        Path a = raw("a.img", 1 << 20);
        Path b = raw("b.img", 2 << 20);
        Path c = raw("c.img", 1 << 20);
        Path d = raw("d.img", 1 << 20);
        try (StrataMachine m = build("-drive", "file=" + a + ",format=raw,if=virtio",
                "-drive", "file=" + b + ",format=raw,if=ide,cache=none,readonly=on",
                "-drive", "file=" + c + ",format=raw,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0,id=vd0",
                "-blockdev", "driver=file,filename=" + d + ",node-name=f1",
                "-blockdev", "{\"driver\":\"raw\",\"node-name\":\"disk1\",\"file\":\"f1\",\"cache\":{\"no-flush\":true}}",
                "-device", "ide-hd,drive=disk1", "-nodefaults")) {
            BlockGraph g = m.graph();
            assertEquals(List.of("virtio0", "ide0-hd0", "d0", "disk1"), g.backends().stream().map(BlockBackend::name).toList());
            assertEquals("/machine/peripheral-anon/device[1]/virtio-backend", g.backend("virtio0").attachedTo());
            assertEquals("/machine/unattached/device[18]", g.backend("ide0-hd0").attachedTo());
            assertEquals("/machine/peripheral/vd0/virtio-backend", g.backend("d0").attachedTo());
            assertEquals("/machine/peripheral-anon/device[0]", g.backend("disk1").attachedTo());
            assertEquals("writeback, direct", g.backend("ide0-hd0").cacheMode().describe());
            assertEquals("writeback, ignore flushes", g.backend("disk1").cacheMode().describe());
            assertTrue(g.backend("ide0-hd0").root().isReadOnly());
            assertEquals(2 << 20, g.backend("ide0-hd0").size());
            assertSame(g.node("disk1"), g.backend("disk1").root());
            assertEquals("f1", g.node("disk1").file().nodeName());
        }
    }

    /**
     * The "Cache mode" lines of {@code info block} and {@code info block -n} for every -drive
     * cache mode, the dotted keys (which win over cache=) and -blockdev, as QEMU 7.2 prints them
     * for the same command lines (run here with qemu-system-x86_64 -machine none); and the file
     * node under a direct node really is opened with O_DIRECT.
     */
    @Test
    void cacheModesAreReportedAsQemuReportsThemAndTakeEffect() throws IOException {
        Path q = dir.resolve("q.qcow2");
        dev.strata.blockdrv.DriverRegistry.standard().require("qcow2").create(q, 16 << 20, BlockOptions.empty());
        String[][] cases = {
            // -drive options, info block, info block -n (qcow2 node, then its file node)
            {"cache=writeback", "writeback", "writeback"},
            {"cache=none", "writeback, direct", "writeback, direct"},
            {"cache=writethrough", "writethrough", "writeback"},
            {"cache=directsync", "writethrough, direct", "writeback, direct"},
            {"cache=unsafe", "writeback, ignore flushes", "writeback, ignore flushes"},
            {"cache.writeback=off,cache.direct=on,cache.no-flush=on", "writethrough, direct, ignore flushes",
                "writeback, direct, ignore flushes"},
            {"cache=none,cache.direct=off", "writeback", "writeback"},
            {"cache=unsafe,cache.writeback=off", "writethrough, ignore flushes", "writeback, ignore flushes"},
        };
        for (String[] c : cases) {
            try (StrataMachine m = build("-drive", "file=" + q + ",format=qcow2,if=none,id=d0," + c[0], "-nodefaults")) {
                String info = m.monitor().hmp().executeNow("info block");
                assertEquals(List.of(c[1]), cacheModeLines(info), c[0] + "\n" + info);
                String nodes = m.monitor().hmp().executeNow("info block -n");
                assertEquals(List.of(c[2], c[2]), cacheModeLines(nodes), c[0] + "\n" + nodes);
                dev.strata.blockdrv.file.FileDriver f = (dev.strata.blockdrv.file.FileDriver) m.graph().backend("d0").root().file().driver();
                assertEquals(c[2].contains("direct"), f.isDirect(), c[0]);
            }
        }
        // -blockdev: options given inline reach the file child; a file node defined apart keeps its own
        try (StrataMachine m = build("-blockdev", "driver=qcow2,node-name=q0,file.driver=file,file.filename=" + q + ",cache.direct=on",
                "-nodefaults")) {
            assertEquals(List.of("writeback, direct", "writeback, direct"), cacheModeLines(m.monitor().hmp().executeNow("info block -n")));
        }
        try (StrataMachine m = build("-blockdev", "driver=file,node-name=f0,filename=" + q + ",cache.direct=on",
                "-blockdev", "driver=qcow2,node-name=q0,file=f0", "-nodefaults")) {
            String nodes = m.monitor().hmp().executeNow("info block -n");
            assertTrue(nodes.contains("q0: " + q + " (qcow2)\n    Cache mode:       writeback\n"), nodes);
            assertTrue(nodes.contains("f0: " + q + " (file)\n    Cache mode:       writeback, direct\n"), nodes);
        }
        // a device's write-cache=on|off overrides the drive's write cache (auto keeps it)
        try (StrataMachine m = build("-drive", "file=" + q + ",format=qcow2,if=none,id=d0,cache=writethrough",
                "-device", "virtio-blk-pci,drive=d0,write-cache=on", "-nodefaults")) {
            assertEquals(List.of("writeback"), cacheModeLines(m.monitor().hmp().executeNow("info block")));
        }
        try (StrataMachine m = build("-blockdev", "driver=qcow2,node-name=q0,file.driver=file,file.filename=" + q,
                "-device", "ide-hd,drive=q0,write-cache=off", "-nodefaults")) {
            assertEquals(List.of("writethrough"), cacheModeLines(m.monitor().hmp().executeNow("info block")));
        }
        UsageException bad = assertThrows(UsageException.class, () -> build("-drive", "file=" + q + ",if=none,id=d0",
                "-device", "virtio-blk-pci,drive=d0,write-cache=maybe"));
        assertTrue(bad.getMessage().endsWith("Parameter 'write-cache' does not accept value 'maybe'"), bad.getMessage());
    }

    private static List<String> cacheModeLines(String info) {
        return info.lines().filter(l -> l.startsWith("    Cache mode:")).map(l -> l.substring(22)).toList();
    }

    @Test
    void verifyingGuestOnRawAndQcow2DisksFindsNothingLost() throws Exception {
        Path a = raw("a.img", 16 << 20);
        Path q = dir.resolve("q.qcow2");
        dev.strata.blockdrv.DriverRegistry.standard().require("qcow2").create(q, 16 << 20, BlockOptions.empty());
        StrataMachine m = build("-drive", "file=" + a + ",format=raw,if=virtio", "-drive", "file=" + q + ",format=qcow2,if=ide",
                "-guest", "drive=virtio0,rw=randrw,bs=4k,iodepth=8,verify=on",
                "-guest", "drive=ide0-hd0,rw=randwrite,bs=8k,iodepth=1,verify=on", "-nodefaults");
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (m.guest().workloads().stream().anyMatch(w -> w.result().writes() < 50) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } finally {
            m.close();
        }
        String o = out.toString();
        assertTrue(o.contains("guest verify: virtio0: verified ") && o.contains("guest verify: ide0-hd0: verified "), o);
        assertEquals(2, o.lines().filter(l -> l.contains("OK, no failures")).count(), o);
        assertTrue(!m.verifyFailed());
    }

    @Test
    void pausedMachineStillQuitsWithAFinalVerifyPass() throws Exception {
        Path a = raw("a.img", 8 << 20);
        StrataMachine m = build("-drive", "file=" + a + ",format=raw,if=virtio", "-S", "-guest", "rw=randrw,verify=on");
        assertEquals(dev.strata.device.RunState.PRELAUNCH, m.runState());
        m.cont();
        Thread.sleep(200);
        m.stop();
        assertEquals(dev.strata.device.RunState.PAUSED, m.runState());
        m.close();
        assertTrue(out.toString().contains("OK, no failures"), out.toString());
    }

    @Test
    void writesThroughABackendReachTheImageAndSurviveClose() throws IOException {
        Path a = raw("a.img", 1 << 20);
        byte[] data = "written through virtio0".getBytes();
        try (StrataMachine m = build("-drive", "file=" + a + ",format=raw,if=virtio", "-monitor", "none")) {
            m.graph().backend("virtio0").write(4096, ByteBuffer.wrap(data));
        }
        byte[] back = new byte[data.length];
        try (RandomAccessFile f = new RandomAccessFile(a.toFile(), "r")) {
            f.seek(4096);
            f.readFully(back);
        }
        assertArrayEquals(data, back);
    }

    @Test
    void nodeNamesAndCommasInFileNames() throws IOException {
        Path a = raw("a,b.img", 1 << 20);
        try (StrataMachine m = build("-drive", "file=" + a.toString().replace(",", ",,") + ",format=raw,if=virtio,node-name=top,id=disk")) {
            assertEquals("top", m.graph().backend("disk").root().nodeName());
            assertEquals(a.toString(), m.graph().backend("disk").root().filename());
        }
    }

    @Test
    void fileOptionsMoveUnderFileFilename() throws IOException {
        Path a = raw("a.img", 1 << 20);
        try (StrataMachine m = build("-drive", "file=" + a + ",format=raw,if=virtio,file.driver=file")) {
            assertEquals(a.toString(), m.graph().backend("virtio0").root().filename());
        }
    }

    @Test
    void openFailuresNameTheOptionAndCloseWhatWasOpened() throws IOException {
        Path a = raw("a.img", 1 << 20);
        String missing = dir.resolve("missing.img").toString();
        UsageException e = assertThrows(UsageException.class,
                () -> build("-drive", "file=" + a + ",format=raw,if=virtio", "-drive", "file=" + missing + ",if=virtio"));
        assertEquals("strata: -drive file=" + missing + ",if=virtio: Could not open '" + missing + "': No such file or directory", e.line());
        // the first image was closed again: a fresh graph can open it writable
        BlockGraph g = new BlockGraph();
        try {
            g.open(BlockOptions.empty().with("file", a.toString()).with("driver", "raw"));
        } finally {
            g.closeAll();
        }
        UsageException f = assertThrows(UsageException.class, () -> build("-drive", "file=" + a + ",format=bogus"));
        assertTrue(f.line().startsWith("strata: -drive file=" + a + ",format=bogus: "), f.line());
        assertTrue(f.line().contains("bogus"), f.line());
    }

    @Test
    void blockdevReferencesMustExist() throws IOException {
        raw("a.img", 1 << 20);
        UsageException e = assertThrows(UsageException.class, () -> build("-blockdev", "driver=raw,node-name=r,file=nosuch"));
        assertTrue(e.line().startsWith("strata: -blockdev driver=raw,node-name=r,file=nosuch: "), e.line());
    }

    @Test
    void guestMustNameAnAttachedDisk() throws IOException {
        Path a = raw("a.img", 1 << 20);
        UsageException e = assertThrows(UsageException.class,
                () -> build("-drive", "file=" + a + ",format=raw,if=none,id=d0", "-guest", "drive=d0"));
        assertEquals("strata: -guest drive=d0: no disk on drive 'd0'", e.line());
    }

    @Test
    void quitFromAnotherThreadWakesTheMainThread() throws Exception {
        Path a = raw("a.img", 1 << 20);
        try (StrataMachine m = build("-drive", "file=" + a + ",format=raw,if=virtio")) {
            assertEquals(false, m.awaitQuit(Duration.ofMillis(50)));
            Thread.ofVirtual().start(() -> m.requestQuit("quit"));
            m.awaitQuit();
            assertEquals("quit", m.quitReason());
            m.requestQuit("second");
            assertEquals("quit", m.quitReason(), "the first reason stays");
        }
    }

    @Test
    void closeIsIdempotentAndStopsServicesNewestFirst() throws IOException {
        Path a = raw("a.img", 1 << 20);
        StringBuilder order = new StringBuilder();
        StrataMachine m = build("-drive", "file=" + a + ",format=raw,if=virtio");
        m.addService(() -> order.append("first;"));
        m.addService(() -> order.append("second;"));
        m.addService(() -> {
            throw new IllegalStateException("broken service");
        });
        m.close();
        m.close();
        assertEquals("second;first;", order.toString());
        assertTrue(err.toString().contains("strata: while shutting down: broken service"), err.toString());
        assertTrue(m.isClosed());
        assertNull(m.graph().backend("virtio0"), "graph emptied");
    }
}
