package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** STARTTLS with the JDK's engine over unix sockets and TCP; TLS-required exports never serve plain clients. */
@Timeout(60)
class NbdTlsTest {

    @TempDir
    static Path keys;
    static SSLContext serverCtx;
    static SSLContext clientCtx;
    static SSLContext anonymousClientCtx;

    @TempDir
    Path dir;
    NbdFixture fx;

    @BeforeAll
    static void makeKeys() throws Exception {
        keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-dname", "CN=server,O=Strata", "-validity", "2",
                "-keystore", keys.resolve("server.p12").toString(), "-storepass", "secret", "-storetype", "PKCS12");
        keytool("-genkeypair", "-alias", "client", "-keyalg", "EC", "-dname", "CN=client,O=Strata", "-validity", "2",
                "-keystore", keys.resolve("client.p12").toString(), "-storepass", "secret", "-storetype", "PKCS12");
        for (String who : new String[] {"server", "client"}) {
            keytool("-exportcert", "-alias", who, "-keystore", keys.resolve(who + ".p12").toString(), "-storepass", "secret",
                    "-file", keys.resolve(who + ".crt").toString());
            keytool("-importcert", "-noprompt", "-alias", who, "-file", keys.resolve(who + ".crt").toString(),
                    "-keystore", keys.resolve("trust.p12").toString(), "-storepass", "secret", "-storetype", "PKCS12");
        }
        serverCtx = context("server.p12");
        clientCtx = context("client.p12");
        anonymousClientCtx = context(null);
    }

    static void keytool(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), () -> "keytool failed: " + out);
    }

    static SSLContext context(String keyStore) throws Exception {
        KeyManagerFactory kmf = null;
        if (keyStore != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keys.resolve(keyStore))) {
                ks.load(in, "secret".toCharArray());
            }
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "secret".toCharArray());
        }
        KeyStore ts = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keys.resolve("trust.p12"))) {
            ts.load(in, "secret".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        return NbdTlsContexts.server(kmf == null ? null : kmf.getKeyManagers(), (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0]);
    }

    @AfterEach
    void close() {
        if (fx != null) {
            fx.close();
        }
    }

    NbdServer serve(NbdTlsConfig tls, boolean tcp) {
        fx = new NbdFixture(dir);
        BlockBackend be = fx.qcow2(4 << 20, true);
        NbdServerOptions o = new NbdServerOptions(0, tls);
        NbdServer s = tcp ? fx.startTcp(o) : fx.startUnix(o);
        s.addExport(NbdExport.builder("secure", be).writable(true).build());
        return s;
    }

    @Test
    void plainClientsAreToldTlsIsRequiredAndNeverServed() throws Exception {
        NbdServer s = serve(NbdTlsConfig.required(serverCtx), false);
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            for (int opt : new int[] {OPT_GO, OPT_INFO, OPT_LIST, OPT_STRUCTURED_REPLY, OPT_LIST_META_CONTEXT}) {
                byte[] data = opt == OPT_GO || opt == OPT_INFO ? NbdTestClient.goData("secure") : new byte[0];
                NbdTestClient.OptReply r = c.option(opt, data).getLast();
                assertEquals(REP_ERR_TLS_REQD, r.type(), optionName(opt));
            }
            c.sendOption(OPT_EXPORT_NAME, "secure".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.serverClosed());
        }
    }

    @Test
    void startTlsThenServeOverUnixAndTcp() throws Exception {
        for (boolean tcp : new boolean[] {false, true}) {
            NbdServer s = serve(NbdTlsConfig.required(serverCtx), tcp);
            try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
                c.startTls(anonymousClientCtx);
                assertEquals(REP_ERR_INVALID, c.option(OPT_STARTTLS, new byte[0]).getLast().type());
                c.expectAck(c.option(OPT_STRUCTURED_REPLY, new byte[0]));
                c.go("secure");
                byte[] data = new byte[100_000];
                new java.util.Random(3).nextBytes(data);
                c.write(12345, data);
                assertArrayEquals(data, c.read(12345, data.length));
                c.disconnect();
            }
            fx.close();
            fx = null;
        }
    }

    @Test
    void startTlsMisuseGetsTheSpecsErrors() throws Exception {
        NbdServer plain = serve(null, false);
        try (NbdTestClient c = NbdTestClient.negotiating(plain.localAddress())) {
            NbdTestClient.OptReply r = c.option(OPT_STARTTLS, new byte[0]).getLast();
            assertEquals(REP_ERR_POLICY, r.type());
            assertEquals(REP_ERR_INVALID, c.option(OPT_STARTTLS, new byte[4]).getLast().type());
            c.go("secure");
            c.read(0, 4096);
        }
        fx.close();
        NbdServer s = serve(NbdTlsConfig.required(serverCtx), false);
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            NbdTestClient.OptReply r = c.option(OPT_STARTTLS, new byte[1]).getLast();
            assertEquals(REP_ERR_INVALID, r.type());
            assertEquals("option 'starttls' has unexpected length", r.text());
            assertTrue(c.serverClosed());
        }
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            NbdTestClient.OptReply r = c.option(OPT_GO, NbdTestClient.goData("secure")).getLast();
            assertEquals("Option 0x7 not permitted before TLS", r.text());
        }
        NbdTestClient good = NbdTestClient.negotiating(s.localAddress());
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            c.expectAck(c.option(OPT_STARTTLS, new byte[0]));
            // not a TLS hello: the server drops this client only
            c.sendRaw("GET / HTTP/1.0\r\n\r\n".repeat(20).getBytes(StandardCharsets.UTF_8));
            assertTrue(c.serverClosed());
        }
        good.startTls(anonymousClientCtx);
        good.go("secure");
        good.read(0, 512);
        good.close();
    }

    @Test
    void authorizationByClientCertificateSubject() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        NbdAuthorizer onlyClient = dn -> {
            seen.add(String.valueOf(dn));
            return "CN=client,O=Strata".equals(dn);
        };
        NbdServer s = serve(new NbdTlsConfig(serverCtx, true, true, onlyClient), false);
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            c.startTls(clientCtx);
            c.go("secure");
            c.read(0, 512);
        }
        assertEquals(List.of("CN=client,O=Strata"), seen);
        // a client without a certificate fails the handshake, one with a refused subject is dropped
        try (NbdTestClient c = NbdTestClient.negotiating(s.localAddress())) {
            assertThrows(IOException.class, () -> {
                c.startTls(anonymousClientCtx);
                c.go("secure");
            });
        }
        NbdServer other = s;
        other.stop();
        fx.close();
        NbdServer refusing = serve(new NbdTlsConfig(serverCtx, true, true, dn -> false), false);
        try (NbdTestClient c = NbdTestClient.negotiating(refusing.localAddress())) {
            assertThrows(IOException.class, () -> {
                c.startTls(clientCtx);
                c.go("secure");
            });
        }
    }
}
