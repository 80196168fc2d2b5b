package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and broken clients: each gets the reply the spec prescribes or a clean disconnect, and a
 * well-behaved client connected all along keeps being served with its data intact.
 */
@Timeout(60)
class NbdBadInputTest {

    static final long SIZE = 4 << 20;

    @TempDir
    java.nio.file.Path dir;
    NbdFixture fx;
    NbdServer server;
    BlockBackend disk;
    NbdTestClient bystander;
    final byte[] stamp = "the bystander's own data".getBytes(StandardCharsets.UTF_8);

    @BeforeEach
    void start() throws Exception {
        fx = new NbdFixture(dir);
        disk = fx.qcow2(SIZE, true);
        server = fx.startUnix(NbdServerOptions.plain());
        server.addExport(NbdExport.builder("disk0", disk).writable(true).build());
        server.addExport(NbdExport.builder("ro", fx.qcow2(SIZE, false)).build());
        bystander = NbdTestClient.open(server.localAddress(), "disk0", true);
        bystander.write(SIZE - 4096, stamp);
    }

    @AfterEach
    void stop() throws Exception {
        // the client connected all along is still served, and its data is where it wrote it
        assertArrayEquals(stamp, bystander.read(SIZE - 4096, stamp.length));
        bystander.disconnect();
        assertEquals(SIZE, disk.size());
        fx.close();
    }

    NbdTestClient fresh() throws Exception {
        return NbdTestClient.negotiating(server.localAddress());
    }

    @Test
    void unknownClientFlagsAndBadOptionMagicDisconnect() throws Exception {
        try (NbdTestClient c = NbdTestClient.connect(server.localAddress())) {
            c.greeting();
            c.sendInt(0x80);
            assertTrue(c.serverClosed());
        }
        try (NbdTestClient c = fresh()) {
            c.sendRaw(ByteBuffer.allocate(16).putLong(0x1234).putInt(OPT_GO).putInt(0).array());
            assertTrue(c.serverClosed());
        }
    }

    @Test
    void malformedOptionLengthsGetErrorsAndTheNextOptionStillParses() throws Exception {
        try (NbdTestClient c = fresh()) {
            // name length larger than the option
            byte[] lying = ByteBuffer.allocate(10).putInt(1000).putInt(0).putShort((short) 0).array();
            assertEquals(REP_ERR_INVALID, c.option(OPT_GO, lying).getLast().type());
            // request count does not match the data
            byte[] count = Arrays.copyOf(NbdTestClient.goData("disk0"), NbdTestClient.goData("disk0").length + 3);
            assertEquals("Inconsistent lengths in option info", c.option(OPT_INFO, count).getLast().text());
            NbdTestClient.OptReply list = c.option(OPT_LIST, new byte[5]).getLast();
            assertEquals(REP_ERR_INVALID, list.type());
            assertEquals("option 'list' has unexpected length", list.text());
            assertEquals(REP_ERR_INVALID, c.option(OPT_STRUCTURED_REPLY, new byte[1]).getLast().type());
            byte[] badUtf8 = ByteBuffer.allocate(8).putInt(2).put((byte) 0xc3).put((byte) 0x28).putShort((short) 0).array();
            assertEquals(REP_ERR_INVALID, c.option(OPT_GO, badUtf8).getLast().type());
            c.expectAck(c.option(OPT_STRUCTURED_REPLY, new byte[0]));
            byte[] meta = ByteBuffer.allocate(12).putInt(0).putInt(5).putInt(99).array();
            assertEquals(REP_ERR_INVALID, c.option(OPT_SET_META_CONTEXT, meta).getLast().type());
            c.go("disk0");
            c.read(0, 4096);
        }
    }

    @Test
    void hugeOptionIsRefusedAndDisconnected() throws Exception {
        try (NbdTestClient c = fresh()) {
            c.sendRaw(ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(OPT_GO).putInt(-1).array());
            assertEquals(REP_ERR_TOO_BIG, c.readOptReply().type());
            assertTrue(c.serverClosed());
        }
    }

    @Test
    void optionsOutOfOrder() throws Exception {
        try (NbdTestClient c = fresh()) {
            c.sendOption(OPT_EXPORT_NAME, "nosuch".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.serverClosed());
        }
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "disk0", false)) {
            // an option in the transmission phase is no request: the magic is wrong
            c.sendOption(OPT_LIST, new byte[12]);
            assertTrue(c.serverClosed());
        }
        try (NbdTestClient c = fresh()) {
            c.expectAck(c.option(OPT_ABORT, new byte[0]));
            assertTrue(c.serverClosed());
        }
    }

    @Test
    void oversizedRequests() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "disk0", true)) {
            NbdTestClient.Reply r = c.request(0, CMD_READ, 0, MAX_BUFFER + 1L, null);
            assertEquals(EINVAL, r.error());
            assertEquals("len (33554433 ) is larger than max len (33554432)", r.message());
            c.read(0, 512);
            c.sendRequest(0, CMD_WRITE, 9, 0, 0xffff_fff0L, null);
            assertEquals(EINVAL, c.nextReply().error());
            assertTrue(c.serverClosed());
        }
    }

    @Test
    void offsetsPastTheEndTouchNothing() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "disk0", false)) {
            long[][] cases = {{SIZE, 512}, {SIZE - 512, 1024}, {-4096, 4096}, {Long.MAX_VALUE, 1}, {0, 0xffff_ffffL}};
            for (long[] k : cases) {
                for (int cmd : new int[] {CMD_READ, CMD_WRITE, CMD_WRITE_ZEROES, CMD_TRIM, CMD_CACHE}) {
                    long len = cmd == CMD_WRITE ? Math.min(k[1], 4096) : k[1];
                    byte[] data = cmd == CMD_WRITE ? new byte[(int) len] : null;
                    if (cmd == CMD_WRITE && k[1] > 4096 || cmd == CMD_READ && len > MAX_BUFFER) {
                        continue;
                    }
                    NbdTestClient.Reply r = c.request(0, cmd, k[0], len, data);
                    assertEquals(EINVAL, r.error(), commandName(cmd) + " at " + k[0]);
                }
            }
            c.read(0, 512);
        }
    }

    @Test
    void unknownCommandsAndFlags() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "disk0", false)) {
            for (int type : new int[] {8, 9, 200, 0xffff}) {
                assertEquals(EINVAL, c.request(0, type, 0, 0, null).error());
            }
            assertEquals(EINVAL, c.request(0x8000, CMD_READ, 0, 512, null).error());
            assertEquals(EINVAL, c.request(CMD_FLAG_DF, CMD_READ, 0, 512, null).error());
            assertEquals(EINVAL, c.request(CMD_FLAG_NO_HOLE, CMD_WRITE, 0, 512, new byte[512]).error());
            assertEquals(EINVAL, c.request(0, CMD_BLOCK_STATUS, 0, 512, null).error());
            c.read(0, 512);
        }
    }

    @Test
    void halfClosedClientStillGetsEveryReply() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "disk0", true)) {
            for (int i = 0; i < 50; i++) {
                c.sendRequest(0, CMD_READ, i, (long) i * 4096, 4096, null);
            }
            c.channel.shutdownOutput();
            List<Long> cookies = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                cookies.add(c.nextReply().cookie());
            }
            assertEquals(50, cookies.stream().distinct().count());
            assertTrue(c.serverClosed());
        }
    }

    @Test
    void clientsVanishingMidMessageAreCleanedUp() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "disk0", false)) {
            c.sendRaw(ByteBuffer.allocate(REQUEST_HEADER + 100).putInt(REQUEST_MAGIC).putShort((short) 0).putShort((short) CMD_WRITE)
                    .putLong(1).putLong(0).putInt(4096).array());
        }
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "disk0", false)) {
            c.sendRaw(new byte[] {0x25, 0x60});
        }
        try (NbdTestClient c = fresh()) {
            c.sendRaw(new byte[] {0x49, 0x48, 0x41});
        }
        while (server.connectionCount() > 1) {
            Thread.sleep(10);
        }
        assertArrayEquals(new byte[4096], bystander.read(0, 4096));
    }

    @Test
    void manyConnectionsDoNotStallOthers() throws Exception {
        List<NbdTestClient> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) {
                NbdTestClient c = NbdTestClient.connect(server.localAddress());
                idle.add(c);
                if (i % 50 == 0) {
                    assertArrayEquals(stamp, bystander.read(SIZE - 4096, stamp.length));
                }
            }
            try (NbdTestClient late = NbdTestClient.open(server.localAddress(), "ro", false)) {
                assertArrayEquals(new byte[512], late.read(0, 512));
            }
        } finally {
            for (NbdTestClient c : idle) {
                c.close();
            }
        }
    }

    @Test
    void aClientThatStopsReadingCannotHoldARemovedExport() throws Exception {
        List<String> deleted = new java.util.concurrent.CopyOnWriteArrayList<>();
        server.addExportListener(e -> deleted.add(e.name()));
        try (NbdTestClient c = NbdTestClient.open(server.localAddress(), "ro", false)) {
            // far more reply data than the socket buffers hold, and never read
            for (int i = 0; i < 64; i++) {
                c.sendRequest(0, CMD_READ, i, 0, 1 << 20, null);
            }
            server.removeExport("ro", NbdRemoveMode.HARD);
            while (deleted.isEmpty()) {
                Thread.sleep(5);
            }
            assertEquals(List.of("ro"), deleted);
        }
    }
}
