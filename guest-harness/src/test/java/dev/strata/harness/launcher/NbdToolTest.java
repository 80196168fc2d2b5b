package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.harness.Main;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code strata nbd}: qemu-nbd 7.2's messages for bad command lines (each expected line was taken
 * from {@code qemu-nbd} on this machine, with the program name changed), and a served image read
 * by real clients: {@code qemu-nbd -L} and {@code strata nbd -L} list it alike (over TLS too), qemu-io reads and
 * cannot write a {@code -r} export, {@code -s} keeps writes out of the image, and the server ends
 * after its client leaves.
 */
@Timeout(120)
class NbdToolTest {

    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
    }

    private static Result strata(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] all = new String[args.length + 1];
        all[0] = "nbd";
        System.arraycopy(args, 0, all, 1, args.length);
        int rc = Main.run(all, new ByteArrayInputStream(new byte[0]), new PrintStream(out, true), new PrintStream(err, true));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String tool(boolean allowFail, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(cmd))).redirectErrorStream(true).start();
        String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        if (!allowFail) {
            assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + s);
        }
        return s;
    }

    private static boolean onPath(String t) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, t))) {
                return true;
            }
        }
        return false;
    }

    private static void require(String t, String pkg) {
        if (!onPath(t)) {
            System.err.println("*** SKIPPING: " + t + " (Debian package " + pkg + ") is not installed; .ci/run installs it ***");
        }
        assumeTrue(onPath(t), t + " is not installed");
    }

    @Test
    void badCommandLinesGetQemuNbdsMessages() {
        Path img = dir.resolve("d.qcow2");
        DriverRegistry.standard().require("qcow2").create(img, 1 << 20, BlockOptions.empty());
        String f = img.toString();
        assertEquals("strata nbd: Invalid number of arguments\nTry `strata nbd --help' for more information.\n", strata().err());
        assertEquals("strata nbd: unrecognized option '--bogus'\nstrata nbd: Try `strata nbd --help' for more information.\n",
                strata("--bogus", f).err());
        assertEquals("strata nbd: Invalid shared device number 'x'\n", strata("-e", "x", f).err());
        assertEquals("strata nbd: Invalid cache mode `foo'\n", strata("--cache=foo", f).err());
        assertEquals("strata nbd: Invalid aio mode 'foo'\n", strata("--aio=foo", f).err());
        assertEquals("strata nbd: Invalid discard mode `foo'\n", strata("--discard=foo", f).err());
        assertEquals("strata nbd: Failed to parse detect_zeroes mode: invalid parameter value: foo\n", strata("--detect-zeroes=foo", f).err());
        assertEquals("strata nbd: setting detect-zeroes to unmap is not allowed without setting discard operation to unmap\n",
                strata("--detect-zeroes=unmap", f).err());
        assertEquals("strata nbd: Failed to blk_new_open '" + f + "': Unknown driver 'foo'\n", strata("-f", "foo", f).err());
        assertEquals("strata nbd: List mode is incompatible with a file name\n", strata("-L", f).err());
        assertEquals("strata nbd: --tls-authz is not permitted without --tls-creds\n", strata("--tls-authz=x", f).err());
        assertEquals("strata nbd: Failed to get TLS creds: No TLS credentials with id 'x'\n", strata("--tls-creds=x", f).err());
        assertEquals("strata nbd: Failed to connect to '/nonexist.sock': No such file or directory\n",
                strata("-L", "-k", "/nonexist.sock").err());
        assertEquals("strata nbd: Parameter 'identity' is missing\n", strata("--object", "authz-simple,id=a", f).err());
        assertEquals("strata nbd: Bitmap 'nob' is not found\n", strata("-B", "nob", "-k", dir.resolve("s").toString(), f).err());
        Result c = strata("-c", "/dev/nbd0", f);
        assertEquals(1, c.status());
        assertTrue(c.err().startsWith("strata nbd: -c/--connect: kernel NBD devices (/dev/nbdN) are not supported by Strata"), c.err());
    }

    @Test
    void servesAnImageToRealClients() throws Exception {
        require("qemu-nbd", "qemu-utils");
        require("qemu-io", "qemu-utils");
        Path img = dir.resolve("d.qcow2");
        DriverRegistry.standard().require("qcow2").create(img, 64L << 20, BlockOptions.empty());
        Path sock = dir.resolve("nbd.sock");

        // -t keeps the server across clients; -A offers qemu:allocation-depth; -r refuses writers
        Thread t = Thread.ofVirtual().start(() -> strata("-t", "-r", "-A", "-x", "foo", "-D", "a desc", "-k", sock.toString(), img.toString()));
        waitFor(sock);
        String ours = strata("-L", "-k", sock.toString()).out();
        assertEquals(tool(false, "qemu-nbd", "-L", "-k", sock.toString()), ours,
                "strata nbd -L prints what qemu-nbd -L prints for the same server");
        assertTrue(ours.contains("  description: a desc\n") && ours.contains("   qemu:allocation-depth\n"), ours);
        String w = tool(true, "qemu-io", "-f", "raw", "nbd+unix:///foo?socket=" + sock, "-c", "write 0 4k");
        assertTrue(w.contains("Permission denied"), w);
        assertTrue(t.isAlive(), "-t: the server outlives its clients");
        t.interrupt();

        // without -t the server ends after its client; -s sends writes to a throw-away overlay
        Path sock2 = dir.resolve("nbd2.sock");
        Thread s = Thread.ofVirtual().start(() -> strata("-s", "-k", sock2.toString(), img.toString()));
        waitFor(sock2);
        String io = tool(false, "qemu-io", "-f", "raw", "nbd+unix:///?socket=" + sock2, "-c", "write -P 7 0 1M", "-c", "read -P 7 0 1M");
        assertTrue(!io.contains("verification failed"), io);
        s.join(10_000);
        assertTrue(!s.isAlive(), "the server ends when its last client has gone");
        String base = tool(false, "qemu-io", "-r", "-f", "qcow2", img.toString(), "-c", "read -P 0 0 1M");
        assertTrue(!base.contains("verification failed"), "-s must leave the image alone: " + base);
    }

    /**
     * TLS with certificates made by {@code openssl} (RSA CA, PKCS#8 keys) in QEMU's directory
     * layout, and QEMU's own client as the TLS peer: {@code qemu-img} with a
     * {@code tls-creds-x509,endpoint=client} object reads the export; without TLS it is refused.
     */
    @Test
    void servesTlsToQemuImg() throws Exception {
        require("openssl", "openssl");
        require("qemu-img", "qemu-utils");
        Path pki = Files.createDirectories(dir.resolve("pki"));
        Path client = Files.createDirectories(dir.resolve("client"));
        String ca = pki.resolve("ca-cert.pem").toString();
        String caKey = pki.resolve("ca-key.pem").toString();
        tool(false, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2",
                "-subj", "/CN=Test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        for (String[] who : new String[][] {{"server", "/O=Strata/CN=localhost", pki.toString()}, {"client", "/O=Strata/CN=alice", client.toString()}}) {
            String key = who[2] + "/" + who[0] + "-key.pem";
            String csr = dir.resolve(who[0] + ".csr").toString();
            tool(false, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", who[1]);
            tool(false, "openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "2",
                    "-out", who[2] + "/" + who[0] + "-cert.pem");
        }
        Files.copy(Path.of(ca), client.resolve("ca-cert.pem"));
        Path img = dir.resolve("d.qcow2");
        DriverRegistry.standard().require("qcow2").create(img, 64L << 20, BlockOptions.empty());
        Path sock = dir.resolve("tls.sock");
        Thread t = Thread.ofVirtual().start(() -> strata("-t", "--object", "tls-creds-x509,id=tls0,endpoint=server,dir=" + pki,
                "--object", "authz-simple,id=auth0,identity=O=Strata,,CN=alice", "--tls-creds", "tls0", "--tls-authz", "auth0",
                "-k", sock.toString(), img.toString()));
        waitFor(sock);
        String info = tool(false, "qemu-img", "info", "--object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + client,
                "--image-opts", "driver=nbd,path=" + sock + ",tls-creds=tls0,tls-hostname=localhost");
        assertTrue(info.contains("virtual size: 64 MiB"), info);
        String plain = tool(true, "qemu-img", "info", "nbd+unix:///?socket=" + sock);
        assertTrue(!plain.contains("virtual size"), "a plain client gets nothing: " + plain);

        // -L over TLS: on a unix socket there is no host name to check the certificate against
        // (qemu-nbd 7.2 refuses alike); over TCP the same listing as qemu-nbd -L
        String creds = "tls-creds-x509,id=tls0,endpoint=client,dir=" + client;
        String[] unixList = {"-L", "-k", sock.toString(), "--object", creds, "--tls-creds", "tls0"};
        assertEquals("strata nbd: No hostname for certificate validation\n", strata(unixList).err());
        assertTrue(tool(true, concat("qemu-nbd", unixList)).contains("No hostname for certificate validation"));
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        Path img2 = dir.resolve("d2.qcow2"); // the unix server holds the first image's write lock
        DriverRegistry.standard().require("qcow2").create(img2, 1 << 20, BlockOptions.empty());
        java.util.concurrent.atomic.AtomicReference<Result> tcpServer = new java.util.concurrent.atomic.AtomicReference<>();
        Thread tcp = Thread.ofVirtual().start(() -> tcpServer.set(strata("-t", "--object", "tls-creds-x509,id=tls0,endpoint=server,dir=" + pki,
                "--tls-creds", "tls0", "-b", "127.0.0.1", "-p", String.valueOf(port), "-x", "tlsdisk", img2.toString())));
        String[] tcpList = {"-L", "-b", "localhost", "-p", String.valueOf(port), "--object", creds, "--tls-creds", "tls0"};
        Result ours = null;
        for (int i = 0; i < 100 && (ours == null || ours.status() != 0); i++) {
            Thread.sleep(100); // until the server listens
            ours = strata(tcpList);
        }
        assertEquals(0, ours.status(), ours.err() + " / the server: " + tcpServer.get());
        assertTrue(ours.out().startsWith("exports available: 1\n export: 'tlsdisk'\n"), ours.out());
        assertEquals(tool(false, concat("qemu-nbd", tcpList)), ours.out());
        tcp.interrupt();
        Result plainList = strata("-L", "-k", sock.toString());
        assertEquals(1, plainList.status(), "a plain listing of a TLS-only server fails: " + plainList.out());
        assertEquals("strata nbd: Failed to get TLS creds: Expected TLS credentials for a client endpoint\n",
                strata("-L", "-k", sock.toString(), "--object", "tls-creds-x509,id=s,endpoint=server,dir=" + pki, "--tls-creds", "s").err());
        t.interrupt();
    }

    private static String[] concat(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    private static void waitFor(Path sock) throws InterruptedException {
        for (int i = 0; i < 200 && !Files.exists(sock); i++) {
            Thread.sleep(50);
        }
        assertTrue(Files.exists(sock), "the server created " + sock);
    }
}
