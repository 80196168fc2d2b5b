package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening nodes from QEMU-style options, naming, lookup and the errors users see. */
class GraphTest {

    @TempDir
    Path dir;
    final BlockGraph graph = new BlockGraph();

    @AfterEach
    void close() {
        graph.closeAll();
    }

    Path image(String name, long size) throws Exception {
        Path f = dir.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
        }
        return f;
    }

    @Test
    void autoNamesLookLikeQemusAndUserNamesAreKept() throws Exception {
        Path a = image("a.raw", 1 << 20);
        BlockNode auto = graph.open(BlockOptions.parse("file=" + a + ",format=raw", null));
        assertTrue(auto.nodeName().matches("#block\\d+\\d\\d"), auto.nodeName());
        assertTrue(auto.isAutoNamed());
        assertTrue(auto.file().nodeName().startsWith("#block"));
        BlockNode named = graph.open(BlockOptions.parse("file=" + a + ",format=raw,node-name=disk0,read-only=on", null));
        assertEquals("disk0", named.nodeName());
        assertTrue(named.isReadOnly());
        assertSame(named, graph.node("disk0"));
    }

    @Test
    void lookupFindsDrivesAndNodesAndFailsLikeQemu() throws Exception {
        BlockNode n = graph.open(BlockOptions.parse("file=" + image("a.raw", 4096) + ",format=raw,node-name=top", null));
        graph.createBackend("virtio0", n, BlockBackend.CacheMode.WRITEBACK);
        assertSame(n, graph.lookup("virtio0"));
        assertSame(n, graph.lookup("top"));
        BlockException e = assertThrows(BlockException.class, () -> graph.lookup("nosuch"));
        assertEquals("Cannot find device='nosuch' nor node-name='nosuch'", e.getMessage());
    }

    @Test
    void duplicateAndMalformedNamesAreRefused() throws Exception {
        Path a = image("a.raw", 4096);
        graph.open(BlockOptions.parse("file=" + a + ",format=raw,node-name=n1", null));
        assertThrows(BlockException.class, () -> graph.open(BlockOptions.parse("file=" + a + ",format=raw,node-name=n1", null)));
        assertThrows(BlockException.class, () -> graph.open(BlockOptions.parse("file=" + a + ",format=raw,node-name=1bad", null)));
    }

    @Test
    void missingFilesAndUnknownFormatsGiveQemusMessages() {
        BlockException e = assertThrows(BlockException.class,
                () -> graph.open(BlockOptions.parse("file=" + dir.resolve("nosuch.img"), null)));
        assertEquals("Could not open '" + dir.resolve("nosuch.img") + "': No such file or directory", e.getMessage());
        assertEquals(BlockException.Kind.NOT_FOUND, e.kind());
        BlockException f = assertThrows(BlockException.class,
                () -> graph.open(BlockOptions.parse("file=x.img,format=nosuchfmt", null)));
        assertEquals("Unknown file format 'nosuchfmt'", f.getMessage());
        BlockException g = assertThrows(BlockException.class, () -> graph.open(BlockOptions.parse("file=" + dir, null)));
        assertTrue(g.getMessage().endsWith("Is a directory"), g.getMessage());
    }

    @Test
    void blockdevStyleReferencesAndNestedOptionsBuildTheSameTree() throws Exception {
        Path a = image("a.raw", 65536);
        BlockNode proto = graph.open(BlockOptions.parse("driver=file,filename=" + a + ",node-name=proto0", null));
        BlockNode fmt = graph.open(BlockOptions.parse("driver=raw,file=proto0,node-name=fmt0", null));
        assertSame(proto, fmt.file());
        Path b = image("b.raw", 65536);
        BlockNode nested = graph.open(BlockOptions.parse(
                "driver=raw,node-name=fmt1,file.driver=file,file.filename=" + b + ",backing=fmt0", null));
        assertEquals("file", nested.file().formatName());
        assertSame(fmt, nested.backing());
        assertEquals(1, nested.chainDepth());
        assertEquals(b.toString(), nested.filename());
    }

    @Test
    void probingPicksRawForPlainData() throws Exception {
        Path a = image("plain.img", 8192);
        BlockNode n = graph.open(BlockOptions.parse("file=" + a, null));
        assertEquals("raw", n.formatName());
        n.write(4096, ByteBuffer.wrap(new byte[] {1}));
    }

    @Test
    void aGuessedRawImageIsNeverTurnedIntoQcow2ByTheGuest() throws Exception {
        Path a = image("guessed.img", 1 << 20);
        BlockNode n = graph.open(BlockOptions.parse("file=" + a, null));
        assertEquals("raw", n.formatName());
        ByteBuffer header = ByteBuffer.allocate(512);
        header.putInt(0, 0x514649fb).putInt(4, 3);
        BlockException e = assertThrows(BlockException.class, () -> n.write(0, header.duplicate()));
        assertEquals(BlockException.Kind.PERMISSION, e.kind());
        n.write(512, header.duplicate()); // only sector 0 decides the probe
        graph.close(n);
        BlockNode again = graph.open(BlockOptions.parse("file=" + a, null));
        assertEquals("raw", again.formatName(), "the image must still probe as raw");
        graph.close(again);
        BlockNode explicit = graph.open(BlockOptions.parse("file=" + a + ",format=raw", null));
        explicit.write(0, header.duplicate()); // the user said raw: the guest owns every byte
    }

    @Test
    void readOnlyNodesRefuseWrites() throws Exception {
        BlockNode n = graph.open(BlockOptions.parse("file=" + image("a.raw", 4096) + ",format=raw,read-only=on", null));
        BlockException e = assertThrows(BlockException.class, () -> n.write(0, ByteBuffer.allocate(1)));
        assertEquals(BlockException.Kind.PERMISSION, e.kind());
        n.setReadOnly(false);
        n.write(0, ByteBuffer.allocate(1));
    }

    @Test
    void optionSyntaxFollowsQemu() {
        BlockOptions o = BlockOptions.parse("disk,,1.img,format=raw,cache.direct=on", "file");
        assertEquals("disk,1.img", o.get("file"));
        assertEquals("on", o.sub("cache").get("direct"));
        assertNull(o.get("nosuch"));
        assertThrows(BlockException.class, () -> BlockOptions.parse("file=a,bogus", null));
    }

    @Test
    void sizesParseLikeQemu() {
        assertEquals(1536, Sizes.parse("1.5k", 1 << 20, "speed"));
        assertEquals(2048, Sizes.parse("2048b", 1 << 20, "speed"));
        assertEquals(16L << 20, Sizes.parse("0x10", 1 << 20, "speed"));
        assertEquals(1L << 20, Sizes.parse("1", 1 << 20, "speed"));
        assertEquals(64L << 20, Sizes.parseBytes("64M", "size"));
        assertThrows(BlockException.class, () -> Sizes.parse("-1", 1 << 20, "speed"));
        assertThrows(BlockException.class, () -> Sizes.parse("12q", 1, "speed"));
        assertEquals("64 MiB", Sizes.human(64L << 20));
        assertEquals("1.25 MiB", Sizes.human(1310720));
        assertEquals("512 B", Sizes.human(512));
    }

    @Test
    void backendDrainAllowsRootSwitch() throws Exception {
        BlockNode a = graph.open(BlockOptions.parse("file=" + image("a.raw", 4096) + ",format=raw", null));
        BlockNode b = graph.open(BlockOptions.parse("file=" + image("b.raw", 4096) + ",format=raw", null));
        BlockBackend be = graph.createBackend("virtio0", a, BlockBackend.CacheMode.WRITEBACK);
        assertThrows(IllegalStateException.class, () -> be.replaceRoot(b));
        try (BlockNode.Drained d = be.drain()) {
            be.replaceRoot(b);
        }
        assertSame(b, be.root());
        be.write(0, ByteBuffer.wrap(new byte[] {7}));
        ByteBuffer r = ByteBuffer.allocate(1);
        b.read(0, r);
        assertEquals(7, r.get(0));
    }
}
