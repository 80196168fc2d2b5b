package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The handshake, the commands and structured replies, against a raw client that sees every byte. */
@Timeout(60)
class NbdProtocolTest {

    static final long SIZE = 16 << 20;

    @TempDir
    Path dir;
    NbdFixture fx;

    NbdFixture fixture() {
        fx = new NbdFixture(dir);
        return fx;
    }

    @AfterEach
    void close() {
        if (fx != null) {
            fx.close();
        }
    }

    NbdServer serve(BlockBackend be, boolean writable) {
        NbdServer s = fixture().startUnix(NbdServerOptions.plain());
        s.addExport(NbdExport.builder("disk0", be).description("the first disk").writable(writable).build());
        return s;
    }

    @Test
    void greetingListInfoAndGo() throws Exception {
        NbdServer s = serve(fixture().qcow2(SIZE, false), false);
        s.addExport(NbdExport.builder("other", fx.qcow2(1 << 20, false)).build());
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            assertEquals(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, c.handshakeFlags);
            List<NbdTestClient.OptReply> list = c.option(OPT_LIST, new byte[0]);
            assertEquals(3, list.size());
            ByteBuffer first = ByteBuffer.wrap(list.get(0).data());
            int n = first.getInt();
            assertEquals("disk0", new String(list.get(0).data(), 4, n, StandardCharsets.UTF_8));
            assertEquals("the first disk", new String(list.get(0).data(), 4 + n, list.get(0).data().length - 4 - n, StandardCharsets.UTF_8));

            List<NbdTestClient.OptReply> info = c.option(OPT_INFO, NbdTestClient.goData("disk0", INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE));
            Map<Integer, ByteBuffer> byType = new HashMap<>();
            for (NbdTestClient.OptReply r : info) {
                if (r.type() == REP_INFO) {
                    ByteBuffer b = ByteBuffer.wrap(r.data());
                    byType.put((int) b.getShort(), b);
                }
            }
            assertEquals("disk0", StandardCharsets.UTF_8.decode(byType.get(INFO_NAME)).toString());
            assertEquals("the first disk", StandardCharsets.UTF_8.decode(byType.get(INFO_DESCRIPTION)).toString());
            ByteBuffer bs = byType.get(INFO_BLOCK_SIZE);
            assertEquals(1, bs.getInt());
            assertEquals(4096, bs.getInt());
            assertEquals(MAX_BUFFER, bs.getInt());
            ByteBuffer ex = byType.get(INFO_EXPORT);
            assertEquals(SIZE, ex.getLong());
            assertTrue((ex.getShort() & TFLAG_READ_ONLY) != 0);

            NbdTestClient.OptReply unknown = c.option(OPT_GO, NbdTestClient.goData("nosuch")).getLast();
            assertEquals(REP_ERR_UNKNOWN, unknown.type());
            assertEquals("export 'nosuch' not present", unknown.text());
            NbdTestClient.OptReply unsup = c.option(77, new byte[3]).getLast();
            assertEquals(REP_ERR_UNSUP, unsup.type());
            assertEquals("Unsupported option 77 (<unknown>)", unsup.text());
            c.go("other");
            assertEquals(1 << 20, c.size);
            assertEquals(1 << 20, c.read(0, 1 << 20).length);
        }
    }

    @Test
    void exportNameOptionAnswersWithOrWithoutZeroes() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, true);
        NbdServer s = serve(be, true);
        NbdFixture.fill(be, 4096, 4096, 0x42);
        for (boolean noZeroes : new boolean[] {true, false}) {
            try (NbdTestClient c = NbdTestClient.connect(s.localAddress())) {
                c.greeting();
                c.sendInt(FLAG_FIXED_NEWSTYLE | (noZeroes ? FLAG_NO_ZEROES : 0));
                c.sendOption(OPT_EXPORT_NAME, "disk0".getBytes(StandardCharsets.UTF_8));
                ByteBuffer r = c.in.require(10);
                assertEquals(SIZE, r.getLong());
                assertEquals(0, r.getShort() & TFLAG_READ_ONLY);
                if (!noZeroes) {
                    ByteBuffer z = c.in.require(124);
                    while (z.hasRemaining()) {
                        assertEquals(0, z.get());
                    }
                }
                byte[] data = c.read(4096, 4096);
                assertEquals(0x42, data[0]);
                assertEquals(0x42, data[4095]);
                c.disconnect();
            }
        }
    }

    @Test
    void writeFlushTrimAndZeroesReachTheDisk() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, true);
        NbdServer s = serve(be, true);
        try (NbdTestClient c = NbdTestClient.open(s.localAddress(), "disk0", false)) {
            byte[] data = new byte[65536];
            new Random(1).nextBytes(data);
            c.write(1 << 20, data);
            assertEquals(0, c.request(CMD_FLAG_FUA, CMD_WRITE, 3 << 20, 512, new byte[512]).error());
            assertEquals(0, c.request(0, CMD_FLUSH, 0, 0, null).error());
            assertArrayEquals(data, c.read(1 << 20, data.length));
            ByteBuffer direct = ByteBuffer.allocate(data.length);
            be.read(1 << 20, direct);
            assertArrayEquals(data, direct.array());

            assertEquals(0, c.request(CMD_FLAG_NO_HOLE, CMD_WRITE_ZEROES, (1 << 20) + 4096, 4096, null).error());
            assertEquals(0, c.request(0, CMD_TRIM, (1 << 20) + 8192, 4096, null).error());
            assertEquals(0, c.request(0, CMD_CACHE, 0, 1 << 20, null).error());
            byte[] back = c.read(1 << 20, data.length);
            byte[] expect = data.clone();
            Arrays.fill(expect, 4096, 8192, (byte) 0);
            assertArrayEquals(Arrays.copyOfRange(expect, 0, 8192), Arrays.copyOfRange(back, 0, 8192));
            assertArrayEquals(Arrays.copyOfRange(expect, 12288, 65536), Arrays.copyOfRange(back, 12288, 65536));
            c.disconnect();
        }
    }

    @Test
    void structuredReadsSendHolesAndDfGetsOneChunk() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, true);
        NbdServer s = serve(be, true);
        NbdFixture.fill(be, 0, 65536, 0x11);
        try (NbdTestClient c = NbdTestClient.open(s.localAddress(), "disk0", true)) {
            NbdTestClient.Reply r = c.request(0, CMD_READ, 0, 256 << 10, null);
            assertEquals(0, r.error());
            assertEquals(2, r.chunks().size());
            assertEquals(REPLY_TYPE_OFFSET_DATA, r.chunks().get(0).type());
            assertEquals(65536 + 8, r.chunks().get(0).payload().length);
            assertEquals(REPLY_TYPE_OFFSET_HOLE, r.chunks().get(1).type());
            ByteBuffer hole = r.chunks().get(1).buf();
            assertEquals(65536, hole.getLong());
            assertEquals(192 << 10, hole.getInt());
            assertEquals(REPLY_FLAG_DONE, r.chunks().get(1).flags());
            assertEquals(0, r.chunks().get(0).flags());

            NbdTestClient.Reply df = c.request(CMD_FLAG_DF, CMD_READ, 0, 256 << 10, null);
            assertEquals(1, df.chunks().size());
            assertEquals((256 << 10) + 8, df.chunks().get(0).payload().length);
            assertEquals(0x11, df.data()[65535]);
            assertEquals(0, df.data()[65536]);
            NbdTestClient.Reply empty = c.request(0, CMD_READ, 0, 0, null);
            assertEquals(REPLY_TYPE_NONE, empty.chunks().getFirst().type());
        }
    }

    @Test
    void metaContextsAreListedSelectedAndAnswered() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, true);
        NbdFixture.TestBitmap bitmap = new NbdFixture.TestBitmap("b0", SIZE);
        bitmap.mark(1 << 20, 128 << 10);
        NbdServer s = fx.startUnix(NbdServerOptions.plain());
        s.addExport(NbdExport.builder("disk0", be).writable(true).bitmap(bitmap).allocationDepth(true).build());
        NbdFixture.fill(be, 0, 65536, 0x11);
        be.writeZeroes(65536, 65536, false);
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            NbdTestClient.OptReply early = c.option(OPT_SET_META_CONTEXT, NbdTestClient.metaData("disk0", CTX_BASE_ALLOCATION)).getLast();
            assertEquals(REP_ERR_INVALID, early.type());
            c.expectAck(c.option(OPT_STRUCTURED_REPLY, new byte[0]));
            assertEquals(REP_ERR_INVALID, c.option(OPT_STRUCTURED_REPLY, new byte[0]).getLast().type());
            assertEquals(List.of("base:allocation", "qemu:allocation-depth", "qemu:dirty-bitmap:b0"),
                    names(c.option(OPT_LIST_META_CONTEXT, NbdTestClient.metaData("disk0"))));
            assertEquals(List.of("qemu:allocation-depth", "qemu:dirty-bitmap:b0"),
                    names(c.option(OPT_LIST_META_CONTEXT, NbdTestClient.metaData("disk0", "qemu:"))));
            assertEquals(List.of("qemu:dirty-bitmap:b0"),
                    names(c.option(OPT_LIST_META_CONTEXT, NbdTestClient.metaData("disk0", "qemu:dirty-bitmap:", "other:x"))));
            assertEquals(REP_ERR_UNKNOWN, c.option(OPT_LIST_META_CONTEXT, NbdTestClient.metaData("nosuch")).getLast().type());
            List<NbdTestClient.OptReply> set = c.option(OPT_SET_META_CONTEXT,
                    NbdTestClient.metaData("disk0", CTX_BASE_ALLOCATION, "qemu:dirty-bitmap:b0", "qemu:dirty-bitmap:nosuch"));
            assertEquals(3, set.size());
            assertEquals(0, ByteBuffer.wrap(set.get(0).data()).getInt());
            assertEquals(2, ByteBuffer.wrap(set.get(1).data()).getInt());
            c.go("disk0");

            NbdTestClient.Reply r = c.request(0, CMD_BLOCK_STATUS, 0, 2 << 20, null);
            assertEquals(2, r.chunks().size());
            // the zero cluster and the unallocated rest read alike and merge into one descriptor
            assertEquals(List.of(0L, 65536L, 0L, (2L << 20) - 65536, 3L), descriptors(r.chunks().get(0)));
            assertEquals(List.of(2L, 1L << 20, 0L, 128L << 10, 1L, (1L << 20) - (128 << 10), 0L), descriptors(r.chunks().get(1)));
            assertEquals(REPLY_FLAG_DONE, r.chunks().get(1).flags());

            NbdTestClient.Reply one = c.request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 0, 2 << 20, null);
            assertEquals(List.of(0L, 65536L, 0L), descriptors(one.chunks().get(0)));
        }
    }

    static List<String> names(List<NbdTestClient.OptReply> replies) {
        List<String> out = new ArrayList<>();
        for (NbdTestClient.OptReply r : replies) {
            if (r.type() == REP_META_CONTEXT) {
                out.add(new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    /** The context id, then each descriptor's length and flags. */
    static List<Long> descriptors(NbdTestClient.Chunk c) {
        assertEquals(REPLY_TYPE_BLOCK_STATUS, c.type());
        ByteBuffer b = c.buf();
        List<Long> out = new ArrayList<>();
        out.add((long) b.getInt());
        while (b.hasRemaining()) {
            out.add(Integer.toUnsignedLong(b.getInt()));
        }
        return out;
    }

    @Test
    void manyRequestsInFlightAreAllAnsweredWithTheirOwnData() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, true);
        NbdServer s = serve(be, true);
        try (NbdTestClient c = NbdTestClient.open(s.localAddress(), "disk0", true)) {
            int n = 200;
            for (int i = 0; i < n; i++) {
                byte[] d = new byte[4096];
                Arrays.fill(d, (byte) i);
                c.sendRequest(0, CMD_WRITE, i, (long) i * 8192, 4096, d);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(0, c.nextReply().error());
            }
            for (int i = 0; i < n; i++) {
                c.sendRequest(0, CMD_READ, 1000 + i, (long) i * 8192, 8192, null);
            }
            for (int i = 0; i < n; i++) {
                NbdTestClient.Reply r = c.nextReply();
                int k = (int) (r.cookie() - 1000);
                assertEquals(0, r.error());
                assertEquals((byte) k, r.data()[0]);
                assertEquals((byte) k, r.data()[4095]);
            }
        }
    }

    @Test
    void readOnlyExportRefusesWritesAsQemuDoes() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, false);
        NbdServer s = serve(be, false);
        try (NbdTestClient c = NbdTestClient.open(s.localAddress(), "disk0", true)) {
            assertTrue((c.transmissionFlags & TFLAG_READ_ONLY) != 0);
            for (int cmd : new int[] {CMD_WRITE, CMD_WRITE_ZEROES, CMD_TRIM}) {
                NbdTestClient.Reply r = c.request(0, cmd, 0, 4096, cmd == CMD_WRITE ? new byte[4096] : null);
                assertEquals(EINVAL, r.error());
                assertEquals("Export is read-only", r.message());
            }
            assertEquals(0, c.request(0, CMD_FLUSH, 0, 0, null).error());
            assertArrayEquals(new byte[4096], c.read(0, 4096));
        }
    }

    @Test
    void removeSafeRefusesWhileInUseAndHardDisconnects() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, true);
        NbdServer s = serve(be, true);
        List<String> deleted = new CopyOnWriteArrayList<>();
        s.addExportListener(e -> deleted.add(e.id()));
        NbdTestClient c = NbdTestClient.open(s.localAddress(), "disk0", false);
        c.read(0, 512);
        BlockException busy = assertThrows(BlockException.class, () -> s.removeExport("disk0", NbdRemoveMode.SAFE));
        assertEquals("export 'disk0' still in use", busy.getMessage());
        assertEquals(1, s.exports().size());
        s.removeExport("disk0", NbdRemoveMode.HARD);
        assertTrue(c.serverClosed());
        c.close();
        // the event comes when the connection's thread has finished with the export
        while (deleted.isEmpty()) {
            Thread.sleep(5);
        }
        assertEquals(List.of("disk0"), deleted);
        assertTrue(s.exports().isEmpty());
        assertThrows(BlockException.class, () -> s.removeExport("disk0", NbdRemoveMode.HARD));

        s.addExport(NbdExport.builder("idle", be).id("exp1").build());
        s.removeExport("idle", NbdRemoveMode.SAFE);
        assertEquals(List.of("disk0", "exp1"), deleted);
    }

    @Test
    void unixSocketIsPrivateAndRemovedOnStop() throws Exception {
        serve(fixture().qcow2(SIZE, false), false);
        Path sock = dir.resolve("nbd.sock");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        List<String> deleted = new CopyOnWriteArrayList<>();
        fx.server.addExportListener(e -> deleted.add(e.name()));
        fx.server.stop();
        assertFalse(Files.exists(sock));
        assertEquals(List.of("disk0"), deleted);
    }

    @Test
    void tcpServesTheSameAndMaxConnectionsHoldsOthersBack() throws Exception {
        BlockBackend be = fixture().qcow2(SIZE, true);
        NbdServer s = fx.startTcp(new NbdServerOptions(1, null));
        s.addExport(NbdExport.builder("disk0", be).writable(true).build());
        NbdTestClient first = NbdTestClient.open(s.localAddress(), "disk0", true);
        first.write(0, "hello".getBytes(StandardCharsets.UTF_8));
        NbdTestClient second = NbdTestClient.connect(s.localAddress());
        assertEquals(1, s.connectionCount());
        first.disconnect();
        second.greeting();
        second.sendInt(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        second.go("disk0");
        assertEquals("hello", new String(second.read(0, 5), StandardCharsets.UTF_8));
        second.close();
    }

    @Test
    void bindFailuresSayWhyInQemusWords() throws Exception {
        BlockException e = assertThrows(BlockException.class,
                () -> NbdServer.start(NbdListenAddress.unix(dir.resolve("nosuch/s.sock")), NbdServerOptions.plain()));
        assertEquals("Failed to bind socket to " + dir.resolve("nosuch/s.sock") + ": No such file or directory", e.getMessage());
        try (NbdServer first = NbdServer.start(NbdListenAddress.inet("127.0.0.1", 0), NbdServerOptions.plain())) {
            int port = ((java.net.InetSocketAddress) first.localAddress()).getPort();
            BlockException busy = assertThrows(BlockException.class,
                    () -> NbdServer.start(NbdListenAddress.inet("127.0.0.1", port), NbdServerOptions.plain()));
            assertEquals("Failed to find an available port: Address already in use", busy.getMessage());
        }
    }
}
