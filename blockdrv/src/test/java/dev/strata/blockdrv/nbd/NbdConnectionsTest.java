package dev.strata.blockdrv.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's view of its connections: the events a {@link NbdConnectionListener} hears, safe
 * removal of an export right after its client hung up (it waits for the client to detach instead
 * of answering {@code still in use}), refusal while a client stays, and the options set on
 * accepted sockets, read back from the server's own channels.
 */
@Timeout(60)
class NbdConnectionsTest {

    @TempDir
    Path dir;
    private NbdFixture fx;

    @AfterEach
    void close() {
        if (fx != null) {
            fx.close();
        }
    }

    /** Records every event as one line, in the order the server sends them. */
    private static final class Recorder implements NbdConnectionListener {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void clientAttached(NbdExport export) {
            events.add("attached " + export.name());
        }

        @Override
        public void clientDetached(NbdExport export) {
            events.add("detached " + export.name());
        }

        @Override
        public void connectionClosed(int stillOpen) {
            events.add("closed " + stillOpen);
        }
    }

    /** Waits for the connection thread to report {@code event} (it does so after shutting the socket). */
    private static void awaitEvent(Recorder r, String event) throws InterruptedException {
        for (int i = 0; i < 3000 && !r.events.contains(event); i++) {
            Thread.sleep(10);
        }
        assertTrue(r.events.contains(event), "no '" + event + "' in " + r.events);
    }

    private NbdServer serveUnix(Recorder r) {
        fx = new NbdFixture(dir);
        NbdServer s = fx.startUnix(NbdServerOptions.plain());
        s.addConnectionListener(r);
        s.addExport(NbdExport.builder("disk", fx.qcow2(1 << 20, true)).writable(true).build());
        return s;
    }

    @Test
    void safeRemovalRightAfterTheClientHungUpSucceeds() throws Exception {
        Recorder r = new Recorder();
        NbdServer s = serveUnix(r);
        List<String> deleted = new CopyOnWriteArrayList<>();
        s.addExportListener(e -> deleted.add(e.name()));
        for (int round = 0; round < 20; round++) {
            String name = round == 0 ? "disk" : "disk" + round;
            if (round > 0) {
                s.addExport(NbdExport.builder(name, fx.qcow2(1 << 20, true)).writable(true).build());
            }
            NbdTestClient c = NbdTestClient.open(s.localAddress(), name, true);
            c.write(0, new byte[4096]);
            if (round % 2 == 0) {
                c.disconnect(); // NBD_CMD_DISC, then close
            } else {
                c.close(); // a bare hang-up
            }
            s.removeExport(name, NbdRemoveMode.SAFE); // no "still in use": the client has left
            assertEquals(name, deleted.get(deleted.size() - 1));
        }
        assertEquals(List.of("attached disk", "detached disk"), r.events.subList(0, 2));
        for (int i = 0; i < 3000 && r.events.stream().filter(e -> e.startsWith("closed")).count() < 20; i++) {
            Thread.sleep(10); // each socket closes just after its client has detached
        }
        assertEquals(20, r.events.stream().filter(e -> e.startsWith("closed")).count(), r.events.toString());
        assertEquals(0, s.connectionCount());
    }

    @Test
    void safeRemovalRefusesWhileAClientStaysAndHardRemovalDisconnects() throws Exception {
        Recorder r = new Recorder();
        NbdServer s = serveUnix(r);
        try (NbdTestClient c = NbdTestClient.open(s.localAddress(), "disk", true)) {
            BlockException e = assertThrows(BlockException.class, () -> s.removeExport("disk", NbdRemoveMode.SAFE));
            assertEquals("export 'disk' still in use", e.getMessage());
            assertEquals(BlockException.Kind.BUSY, e.kind());
            assertEquals(4096, c.read(0, 4096).length, "the refused removal left the client served");
            s.removeExport("disk", NbdRemoveMode.HARD);
            assertTrue(c.serverClosed(), "hard removal disconnects the client");
        }
        awaitEvent(r, "closed 0");
        assertEquals(List.of("attached disk", "detached disk", "closed 0"), r.events);
    }

    @Test
    void aListingClientIsClosedWithoutAttaching() throws Exception {
        Recorder r = new Recorder();
        NbdServer s = serveUnix(r);
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            c.option(NbdProtocol.OPT_LIST, new byte[0]);
            c.option(NbdProtocol.OPT_ABORT, new byte[0]);
        }
        awaitEvent(r, "closed 0");
        assertEquals(List.of("closed 0"), r.events);
    }

    @Test
    void acceptedTcpSocketsHaveNagleOffAndUnixSocketsALargeSendBuffer() throws Exception {
        fx = new NbdFixture(dir);
        NbdServer tcp = fx.startTcp(NbdServerOptions.plain());
        tcp.addExport(NbdExport.builder("disk", fx.qcow2(1 << 20, false)).build());
        try (NbdTestClient c = NbdTestClient.open(tcp.localAddress(), "disk", true)) {
            List<SocketChannel> accepted = tcp.acceptedChannels();
            assertEquals(1, accepted.size());
            assertEquals(Boolean.TRUE, accepted.get(0).getOption(StandardSocketOptions.TCP_NODELAY));
        }
        tcp.stop();
        NbdServer unix = fx.startUnix(NbdServerOptions.plain());
        unix.addExport(NbdExport.builder("disk", fx.qcow2(1 << 20, false)).build());
        try (NbdTestClient c = NbdTestClient.open(unix.localAddress(), "disk", true)) {
            int sndbuf = unix.acceptedChannels().get(0).getOption(StandardSocketOptions.SO_SNDBUF);
            assertTrue(sndbuf > 212992, "the send buffer was enlarged past the 208 KiB default: " + sndbuf);
        }
    }
}
