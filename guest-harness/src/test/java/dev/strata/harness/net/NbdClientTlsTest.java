package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The nbd driver's {@code tls-creds} against qemu-nbd's TLS server (issue 17, TLS faults): the
 * export reads through TLS; a plain client is refused with QEMU's text; a wrong CA, a wrong host
 * name and a server without TLS fail the open with a clear error instead of falling back to
 * plain text; server credentials are refused on a client.
 */
@Timeout(120)
class NbdClientTlsTest {

    @TempDir
    Path dir;
    private LinkPki pki;
    private LinkPki other;
    private final BlockGraph graph = new BlockGraph();
    private final UserObjects objects = new UserObjects();
    private Process qemuNbd;
    private Path sock;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")), "qemu-nbd not installed (.ci/run installs it)");
        pki = LinkPki.create(dir.resolve("pki"));
        other = LinkPki.create(dir.resolve("other"));
        graph.useObjects(objects::get);
        objects.addFromOptionString("tls-creds-x509,id=tls0,endpoint=client,dir=" + pki.clientDir);
        objects.addFromOptionString("tls-creds-x509,id=wrongca,endpoint=client,dir=" + other.clientDir);
        objects.addFromOptionString("tls-creds-x509,id=srv,endpoint=server,dir=" + pki.serverDir);
    }

    @AfterEach
    void tearDown() throws Exception {
        graph.closeAll();
        if (qemuNbd != null) {
            qemuNbd.destroy();
            qemuNbd.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private void serve(boolean tls) throws Exception {
        Path img = dir.resolve("disk.qcow2");
        MigrationRig.must("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "4M");
        MigrationRig.must("qemu-io", "-f", "qcow2", "-c", "write -P 0x5c 64k 64k", img.toString());
        sock = dir.resolve("nbd.sock");
        ProcessBuilder pb = tls
                ? new ProcessBuilder("qemu-nbd", "-t", "-x", "disk", "-k", sock.toString(), "-f", "qcow2", "--object",
                        "tls-creds-x509,id=t0,endpoint=server,dir=" + pki.serverDir, "--tls-creds", "t0", img.toString())
                : new ProcessBuilder("qemu-nbd", "-t", "-x", "disk", "-k", sock.toString(), "-f", "qcow2", img.toString());
        qemuNbd = pb.redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        // the socket file appears at bind, a moment before qemu-nbd listens: wait until it accepts
        for (int i = 0; i < 400 && !accepts(sock); i++) {
            Thread.sleep(25);
        }
        assertTrue(accepts(sock), Files.readString(dir.resolve("qemu-nbd.log")));
    }

    private static boolean accepts(Path sock) {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(sock));
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private BlockNode open(String extra) {
        return graph.open(BlockOptions.parse("driver=nbd,server.type=unix,server.path=" + sock + ",export=disk" + extra, null));
    }

    private String refusal(String extra) {
        return assertThrows(BlockException.class, () -> open(extra)).getMessage();
    }

    @Test
    void readsAndWritesThroughTls() throws Exception {
        serve(true);
        BlockNode n = open(",tls-creds=tls0,tls-hostname=localhost");
        ByteBuffer b = ByteBuffer.allocate(128 << 10);
        n.read(0, b);
        byte[] want = new byte[128 << 10];
        Arrays.fill(want, 64 << 10, 128 << 10, (byte) 0x5c);
        assertArrayEquals(want, b.array());
        byte[] w = new byte[4096];
        Arrays.fill(w, (byte) 0x11);
        n.write(1 << 20, ByteBuffer.wrap(w));
        ByteBuffer back = ByteBuffer.allocate(4096);
        n.read(1 << 20, back);
        assertArrayEquals(w, back.array());
    }

    @Test
    void aPlainClientIsRefusedByATlsServer() throws Exception {
        serve(true);
        String m = refusal("");
        assertTrue(m.startsWith("TLS negotiation required before option 7 (go)"), m);
    }

    @Test
    void aWrongCaFailsTheHandshake() throws Exception {
        serve(true);
        assertEquals("The certificate hasn't got a known issuer", refusal(",tls-creds=wrongca,tls-hostname=localhost"));
    }

    @Test
    void aWrongHostNameFailsTheHandshake() throws Exception {
        serve(true);
        assertEquals("Certificate does not match the hostname elsewhere.example",
                refusal(",tls-creds=tls0,tls-hostname=elsewhere.example"));
    }

    @Test
    void aServerWithoutTlsIsNotUsedInPlainText() throws Exception {
        serve(false);
        String m = refusal(",tls-creds=tls0,tls-hostname=localhost");
        assertTrue(m.startsWith("Denied by server for option 5 (starttls)"), m);
    }

    @Test
    void credentialsMustBeAClientsThatExist() throws Exception {
        serve(true);
        assertEquals("Expected TLS credentials for a client endpoint", refusal(",tls-creds=srv"));
        assertEquals("No TLS credentials with id 'nope'", refusal(",tls-creds=nope"));
        assertEquals("tls-hostname is set but tls-creds is not", refusal(",tls-hostname=localhost"));
    }
}
