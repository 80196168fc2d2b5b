package dev.strata.blockdrv.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.qcow2.Qemu;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients against Strata's exports, over a unix socket and TCP 127.0.0.1: qemu-img, qemu-io,
 * libnbd's nbdinfo, nbdcopy and nbdsh, fio's nbd engine and QEMU itself. Each tool that is missing
 * skips its test loudly (.ci/run installs them).
 *
 * <p>The export is a qcow2 overlay over a qcow2 base written by qemu-io, so allocation depth has
 * two layers to tell apart: base data at 0-1 MiB, overlay data at 2-3 MiB, a zero cluster in the
 * overlay at 4 MiB, and nothing from 5 MiB to the end of the 64 MiB disk.
 */
@Timeout(300)
class NbdInteropTest {

    static final long SIZE = 64 << 20;

    @TempDir
    Path dir;
    NbdFixture fx;
    NbdServer unix;
    NbdServer tcp;
    NbdFixture.TestBitmap bitmap;
    Path overlay;

    @BeforeEach
    void serve() {
        Qemu.assumeTools();
        Path base = dir.resolve("base.qcow2");
        overlay = dir.resolve("top.qcow2");
        Qemu.img("create", "-q", "-f", "qcow2", base, SIZE);
        Qemu.io(base, "write -P 0x5a 0 1M");
        Qemu.img("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay);
        Qemu.io(overlay, "write -P 0x6b 2M 1M", "write -z 4M 64k");
        fx = new NbdFixture(dir);
        BlockNode top = fx.graph.open(BlockOptions.parse("file=" + overlay + ",format=qcow2", null));
        BlockBackend be = fx.graph.createBackend("export0", top, BlockBackend.CacheMode.WRITEBACK);
        bitmap = new NbdFixture.TestBitmap("b0", SIZE);
        bitmap.mark(2 << 20, 1 << 20);
        NbdExport export = NbdExport.builder("disk0", be).description("interop disk").writable(true).multiConn(true)
                .bitmap(bitmap).allocationDepth(true).build();
        unix = fx.startUnix(NbdServerOptions.plain());
        unix.addExport(export);
        tcp = NbdServer.start(NbdListenAddress.inet("127.0.0.1", 0), NbdServerOptions.plain());
        tcp.addExport(NbdExport.builder("disk0", be).writable(true).build());
    }

    @AfterEach
    void stop() {
        if (tcp != null) {
            tcp.stop();
        }
        if (fx != null) {
            fx.close();
        }
    }

    String unixUri() {
        return "nbd+unix:///disk0?socket=" + dir.resolve("nbd.sock");
    }

    String tcpUri() {
        return "nbd://127.0.0.1:" + ((InetSocketAddress) tcp.localAddress()).getPort() + "/disk0";
    }

    static void assumeTool(String tool) {
        boolean present = Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/usr/local/bin", tool));
        if (!present) {
            System.err.println("*** WARNING: " + tool + " not installed: NBD interop test SKIPPED (.ci/run installs it) ***");
        }
        Assumptions.assumeTrue(present, tool + " not installed");
    }

    static String run(String... cmd) {
        return runWithInput(null, cmd);
    }

    /** Runs a tool (stdin from {@code input} when given) and fails the test unless it exits 0. */
    static String runWithInput(String input, String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (input != null) {
                p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(240, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", cmd) + " did not finish");
            }
            assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + " failed:\n" + out);
            return out;
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("could not run " + String.join(" ", cmd), e);
        }
    }

    @Test
    void qemuImgInfoMapCompareAndConvert() {
        for (String uri : List.of(unixUri(), tcpUri())) {
            assertTrue(Qemu.img("info", uri).contains("virtual size: 64 MiB (67108864 bytes)"));
            String map = Qemu.img("map", "--output=json", uri);
            assertTrue(map.contains("\"start\": 0, \"length\": 1048576, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true"), map);
            assertTrue(map.contains("\"start\": 1048576, \"length\": 1048576, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false"), map);
            Qemu.img("compare", "-U", "-f", "qcow2", overlay, uri);
            Path copy = dir.resolve("copy.qcow2");
            Qemu.img("convert", "-O", "qcow2", uri, copy);
            Qemu.img("compare", "-U", "-f", "qcow2", "-F", "qcow2", overlay, copy);
        }
    }

    @Test
    void qemuIoWritesAndReadsBack() {
        for (String uri : List.of(unixUri(), tcpUri())) {
            String out = run("qemu-io", "-f", "raw", uri, "-c", "write -P 0x77 8M 1M", "-c", "read -P 0x77 8M 1M",
                    "-c", "read -P 0x5a 0 1M", "-c", "write -z 8M 64k", "-c", "read -P 0 8M 64k", "-c", "discard 9M 64k",
                    "-c", "aio_write -P 0x12 10M 4k", "-c", "aio_write -P 0x13 11M 4k", "-c", "aio_flush", "-c", "read -P 0x13 11M 4k");
            assertFalse(out.contains("fail"), out);
            assertFalse(out.contains("error"), out);
        }
    }

    @Test
    void nbdinfoListsAndMapsEveryContext() {
        assumeTool("nbdinfo");
        String list = run("nbdinfo", "--list", "nbd+unix:///?socket=" + dir.resolve("nbd.sock"));
        assertTrue(list.contains("export=\"disk0\""), list);
        assertTrue(list.contains("description: interop disk"), list);
        assertTrue(list.contains("qemu:dirty-bitmap:b0"), list);
        assertTrue(list.contains("can_multi_conn: true"), list);
        String map = run("nbdinfo", "--map", unixUri());
        assertEquals(List.of("0 1048576 0 data", "1048576 1048576 3 hole,zero", "2097152 1048576 0 data",
                "3145728 63963136 3 hole,zero"), lines(map));
        String depth = run("nbdinfo", "--map=qemu:allocation-depth", unixUri());
        assertEquals(List.of("0 1048576 2 backing depth 2", "1048576 1048576 0 absent", "2097152 1048576 1 local",
                "3145728 1048576 0 absent", "4194304 65536 1 local", "4259840 62849024 0 absent"), lines(depth));
        String dirty = run("nbdinfo", "--map=qemu:dirty-bitmap:b0", tcpUriWithBitmap());
        assertEquals(List.of("0 2097152 0 clean", "2097152 1048576 1 dirty", "3145728 63963136 0 clean"), lines(dirty));
    }

    /** The bitmap is on the unix export only. */
    private String tcpUriWithBitmap() {
        return unixUri();
    }

    static List<String> lines(String out) {
        List<String> l = new ArrayList<>();
        for (String s : out.strip().split("\n")) {
            l.add(s.strip().replaceAll("\\s+", " "));
        }
        return l;
    }

    @Test
    void nbdcopyAndNbdshSeeTheSameBytes() throws Exception {
        assumeTool("nbdcopy");
        Path raw = dir.resolve("copy.raw");
        run("nbdcopy", tcpUri(), raw.toString());
        Qemu.img("compare", "-U", "-f", "qcow2", "-F", "raw", overlay, raw);
        assumeTool("nbdsh");
        // the system's python3 has the nbd module; a python3 earlier on PATH (pyenv) may not
        String out = run("/usr/bin/python3", "-m", "nbd", "-u", unixUri(), "-c",
                "h.pwrite(b'strata' * 100, 5 * 1024 * 1024)\n"
                + "assert h.pread(600, 5 * 1024 * 1024) == b'strata' * 100\n"
                + "assert h.pread(4, 0) == b'\\x5a' * 4\n"
                + "assert h.can_fua() and h.can_trim() and h.can_zero() and h.can_df()\n"
                + "print('size', h.get_size())");
        assertTrue(out.contains("size 67108864"), out);
    }

    @Test
    void fioVerifiesWhatItWrote() {
        assumeTool("fio");
        for (String uri : List.of(unixUri(), tcpUri())) {
            String out = run("fio", "--name=verify", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=4k",
                    "--iodepth=16", "--size=8M", "--offset=16M", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
                    // fio would otherwise leave its verify state file in the working directory (the module)
                    "--verify_state_save=0");
            assertTrue(out.contains("err= 0"), out);
            assertFalse(out.contains("verify: bad"), out);
        }
    }

    @Test
    void qemuItselfReadsAndWritesAsAClient() {
        assumeTool("qemu-system-x86_64");
        String hmp = "qemu-io n0 \"read -P 0x5a 0 1M\"\nqemu-io n0 \"read -P 0x6b 2M 1M\"\n"
                + "qemu-io n0 \"write -P 0x44 40M 256k\"\nqemu-io n0 \"read -P 0x44 40M 256k\"\nquit\n";
        String out = runWithInput(hmp, "qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none", "-monitor", "stdio",
                "-blockdev", "driver=nbd,server.type=unix,server.path=" + dir.resolve("nbd.sock") + ",export=disk0,node-name=n0");
        assertFalse(out.contains("Pattern verification failed"), out);
        assertEquals(3, out.split("read \\d+/\\d+ bytes", -1).length - 1, out);
        assertTrue(out.contains("wrote 262144/262144 bytes at offset 41943040"), out);
    }

    /**
     * libvirt's storage-migration flow: QEMU mirrors its disk into a writable Strata export, then
     * the two images compare equal.
     */
    @Test
    void qemuMirrorsIntoAStrataExport() throws Exception {
        assumeTool("qemu-system-x86_64");
        Path src = dir.resolve("src.qcow2");
        Qemu.img("create", "-q", "-f", "qcow2", src, SIZE);
        Qemu.io(src, "write -P 0x21 0 3M", "write -P 0x22 10M 1M", "write -z 20M 1M");
        Process p = new ProcessBuilder("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none", "-qmp", "stdio",
                "-blockdev", "driver=file,filename=" + src + ",node-name=f0", "-blockdev", "driver=qcow2,file=f0,node-name=src0")
                .redirectErrorStream(true).start();
        try (var out = new java.io.PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
                var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            qmpUntil(in, "\"QMP\"");
            out.println("{\"execute\": \"qmp_capabilities\"}");
            qmpUntil(in, "\"return\"");
            out.println("{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"nbd\", \"node-name\": \"dst0\", "
                    + "\"server\": {\"type\": \"unix\", \"path\": \"" + dir.resolve("nbd.sock") + "\"}, \"export\": \"disk0\"}}");
            qmpUntil(in, "\"return\"");
            out.println("{\"execute\": \"blockdev-mirror\", \"arguments\": {\"device\": \"src0\", \"target\": \"dst0\", "
                    + "\"sync\": \"full\", \"job-id\": \"m0\"}}");
            qmpUntil(in, "\"return\"");
            qmpUntil(in, "BLOCK_JOB_READY");
            out.println("{\"execute\": \"job-complete\", \"arguments\": {\"id\": \"m0\"}}");
            qmpUntil(in, "BLOCK_JOB_COMPLETED");
            out.println("{\"execute\": \"quit\"}");
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        Qemu.img("compare", "-U", "-f", "qcow2", src, unixUri());
    }

    /** Reads QMP lines until one contains {@code marker}; an error reply or the end of output fails the test. */
    private static String qmpUntil(java.io.BufferedReader in, String marker) throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            assertFalse(line.contains("\"error\""), line);
            if (line.contains(marker)) {
                return line;
            }
        }
        throw new AssertionError("QEMU ended before " + marker);
    }
}
