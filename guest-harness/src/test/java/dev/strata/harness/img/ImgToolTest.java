package dev.strata.harness.img;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.qcow2.Qemu;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code strata img} prints what qemu-img 7.2 prints (stdout and exit status) on the same files. */
@Timeout(120)
class ImgToolTest {

    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Qemu.assumeTools();
    }

    record Out(int exit, String stdout, String stderr) {
    }

    private Out strata(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        String[] abs = absolutise(args);
        int rc = ImgTool.run(abs, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Out(rc, rel(o.toString(StandardCharsets.UTF_8)), e.toString(StandardCharsets.UTF_8));
    }

    private Out qemu(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-img"));
        cmd.addAll(List.of(absolutise(args)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Out(p.exitValue(), rel(out), "");
    }

    /** Image names are given relative to the temp dir; both tools get absolute paths. */
    private String[] absolutise(String[] args) {
        String[] r = args.clone();
        for (int i = 0; i < r.length; i++) {
            if (r[i].endsWith(".qcow2") || r[i].endsWith(".raw")) {
                r[i] = dir.resolve(r[i]).toString();
            }
        }
        return r;
    }

    private String rel(String s) {
        return s.replace(dir.toString() + "/", "").replaceAll("\"actual-size\": \\d+", "\"actual-size\": X")
                .replaceAll("disk size: .*", "disk size: X");
    }

    private void assertSame(String... args) throws Exception {
        Out q = qemu(args);
        Out s = strata(args);
        assertEquals(q.stdout(), s.stdout(), String.join(" ", args) + "\nstrata stderr: " + s.stderr());
        assertEquals(q.exit(), s.exit(), String.join(" ", args) + " exit status; strata stderr: " + s.stderr());
    }

    private void chain() throws Exception {
        assertSame("create", "-f", "qcow2", "a.qcow2", "64M");
        Qemu.io(dir.resolve("a.qcow2"), "write -P 1 0 1M", "write -z 2M 1M", "write -c 4M 64k", "write -P 2 9M 5k");
        assertSame("create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", "b.qcow2");
        Qemu.io(dir.resolve("b.qcow2"), "write 1M 64k", "discard 3M 64k", "write -P 3 9M 2k");
    }

    @Test
    void createInfoMapAgreeWithQemuImg() throws Exception {
        chain();
        assertSame("create", "-f", "qcow2", "-o", "cluster_size=4k,compat=0.10", "c.qcow2", "1G");
        assertSame("create", "-f", "qcow2", "-o", "extended_l2=on", "-o", "lazy_refcounts=on", "-b", "b.qcow2", "-F", "qcow2", "d.qcow2", "2G");
        assertSame("create", "-f", "raw", "r.raw", "10M");
        for (String f : new String[] {"a.qcow2", "b.qcow2", "c.qcow2", "d.qcow2"}) {
            assertSame("info", f);
            assertSame("info", "--output=json", f);
            assertSame("info", "--backing-chain", f);
            assertSame("info", "--output", "json", "--backing-chain", f);
            assertSame("map", "--output=json", f);
            assertSame("check", f);
            assertSame("check", "--output=json", f);
        }
        assertSame("info", "r.raw");
        assertSame("map", "c.qcow2");
        assertSame("map", "--output=json", "-f", "qcow2", "d.qcow2");
        assertSame("compare", "a.qcow2", "b.qcow2");
        assertSame("compare", "b.qcow2", "d.qcow2");
        assertSame("compare", "-s", "b.qcow2", "d.qcow2");
        assertSame("compare", "c.qcow2", "r.raw");
    }

    @Test
    void convertProducesCleanIdenticalImages() throws Exception {
        chain();
        assertEquals(0, strata("convert", "-O", "qcow2", "b.qcow2", "out.qcow2").exit());
        assertEquals(0, strata("convert", "-f", "qcow2", "b.qcow2", "out.raw").exit());
        assertEquals(0, strata("convert", "-O", "qcow2", "-o", "cluster_size=512", "out.raw", "small.qcow2").exit());
        assertSame("check", "out.qcow2");
        assertEquals(0, qemu("check", "out.qcow2").exit());
        assertEquals(0, qemu("check", "small.qcow2").exit());
        assertEquals(0, qemu("compare", "b.qcow2", "out.qcow2").exit());
        assertEquals(0, qemu("compare", "-f", "qcow2", "-F", "raw", "b.qcow2", "out.raw").exit());
        assertEquals(0, qemu("compare", "b.qcow2", "small.qcow2").exit());
        assertTrue(Files.size(dir.resolve("out.qcow2")) < 4 << 20, "convert must skip zeros");
    }

    @Test
    void checkFindsAndRepairsLikeQemuImg() throws Exception {
        chain();
        Path a = dir.resolve("a.qcow2");
        byte[] pristine = Files.readAllBytes(a);
        // an extra cluster with refcount 1 that nothing references: a leak
        byte[] leak = java.util.Arrays.copyOf(pristine, 40 * 65536);
        leak[0x20000 + 2 * 35 + 1] = 1;
        // the refcount of data cluster 5 dropped to 0: a corruption
        byte[] err = pristine.clone();
        err[0x20000 + 2 * 5 + 1] = 0;
        for (byte[] image : new byte[][] {leak, err}) {
            for (String[] cmd : new String[][] {{"check"}, {"check", "--output=json"}, {"check", "-r", "leaks"}, {"check", "-r", "all"}}) {
                Files.write(dir.resolve("q.qcow2"), image);
                Files.write(dir.resolve("s.qcow2"), image);
                List<String> qa = new ArrayList<>(List.of(cmd));
                qa.add("q.qcow2");
                List<String> sa = new ArrayList<>(List.of(cmd));
                sa.add("s.qcow2");
                Out q = qemu(qa.toArray(String[]::new));
                Out s = strata(sa.toArray(String[]::new));
                if (cmd.length == 3 && cmd[2].equals("leaks") && image == err) {
                    assertEquals(2, s.exit(), "-r leaks leaves corruptions: " + s.stdout());
                    continue;
                }
                // a rebuilt refcount structure ends elsewhere in QEMU; everything else must agree
                assertEquals(q.stdout().replaceAll("Image end offset: \\d+", ""), s.stdout().replace("s.qcow2", "q.qcow2")
                        .replaceAll("Image end offset: \\d+", ""), String.join(" ", cmd));
                assertEquals(q.exit(), s.exit(), String.join(" ", cmd));
                if (cmd.length == 3) {
                    assertEquals(0, qemu("check", "s.qcow2").exit(), "repaired by strata: " + s.stdout());
                }
            }
        }
    }

    @Test
    void errorsAreOneLineAndExitCodesMatch() throws Exception {
        chain();
        assertSame("info", "missing.qcow2");
        assertSame("check", "missing.qcow2");
        assertSame("create", "-f", "qcow2", "x.qcow2");
        assertSame("create", "-f", "qcow2", "-b", "missing.qcow2", "-F", "qcow2", "x.qcow2", "1M");
        assertSame("create", "-f", "qcow2", "-b", "a.qcow2", "x.qcow2");
        assertSame("create", "-f", "qcow2", "-o", "cluster_size=3k", "x.qcow2", "1M");
        assertSame("create", "-f", "nonsense", "x.qcow2", "1M");
        assertSame("create", "-f", "qcow2", "-o", "cluster_size=4k,foo=bar", "x.qcow2", "1M");
        assertSame("create", "-f", "qcow2", "x.qcow2", "1x");
        Files.write(dir.resolve("r.raw"), new byte[1 << 20]);
        assertSame("check", "-f", "raw", "r.raw");
        assertSame("compare", "a.qcow2", "missing.qcow2");
        Out o = strata("frobnicate");
        assertEquals(1, o.exit());
        assertTrue(o.stderr().contains("Command not found: frobnicate"));
        Out bad = strata("info", "--output=yaml", "a.qcow2");
        assertEquals(1, bad.exit());
        for (Out x : new Out[] {o, bad, strata("info", "missing.qcow2")}) {
            assertTrue(!x.stderr().contains("Exception") && !x.stderr().contains("\tat "), x.stderr());
        }
    }

    @Test
    void convertWithBackingFileCopiesTheTopLayerLikeQemuImg() throws Exception {
        chain();
        assertSame("create", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", "c.qcow2");
        Qemu.io(dir.resolve("c.qcow2"), "write -P 7 0 64k", "write -z 9M 64k", "write -P 0 20M 64k");
        Out q = qemu("convert", "-O", "qcow2", "-B", "a.qcow2", "-F", "qcow2", "c.qcow2", "q.qcow2");
        Out s = strata("convert", "-O", "qcow2", "-B", "a.qcow2", "-F", "qcow2", "c.qcow2", "s.qcow2");
        assertEquals(q.exit(), s.exit(), s.stderr());
        assertEquals(0, s.exit(), s.stderr());
        assertEquals(0, qemu("check", "s.qcow2").exit());
        // the same header (backing file and format) and the same map: what the top layer held
        // is copied (its zeros as zeros), the rest is left to the new backing file
        assertEquals(qemu("info", "q.qcow2").stdout().replace("q.qcow2", "X"), qemu("info", "s.qcow2").stdout().replace("s.qcow2", "X"));
        assertEquals(withoutOffsets(qemu("map", "--output=json", "q.qcow2").stdout()),
                withoutOffsets(qemu("map", "--output=json", "s.qcow2").stdout()));
        assertEquals(0, qemu("compare", "q.qcow2", "s.qcow2").exit());
        // relative -B names are stored as written, resolved against the output's directory
        assertSame("convert", "-O", "qcow2", "-B", "a.qcow2", "c.qcow2", "x.qcow2");
        assertSame("convert", "-O", "raw", "-B", "a.qcow2", "-F", "qcow2", "c.qcow2", "x.raw");
        assertSame("convert", "-O", "qcow2", "-F", "qcow2", "c.qcow2", "y.qcow2");
        assertSame("convert", "-O", "qcow2", "-B", "missing.qcow2", "-F", "qcow2", "c.qcow2", "z.qcow2");
    }

    private static String withoutOffsets(String map) {
        return map.replaceAll(", \"offset\": \\d+", "");
    }

    @Test
    void helpIsPrintedForTheToolAndForEveryCommand() {
        Out top = strata("--help");
        assertEquals(0, top.exit());
        assertTrue(top.stdout().startsWith("usage: strata img [standard options] command [command options]\n"), top.stdout());
        for (String cmd : new String[] {"create", "info", "map", "convert", "check", "compare"}) {
            assertTrue(top.stdout().contains("\n  " + cmd + " ["), cmd + " missing from the help");
            for (String h : new String[] {"--help", "-h"}) {
                Out o = strata(cmd, h);
                assertEquals(0, o.exit(), cmd + " " + h + ": " + o.stderr());
                assertEquals(top.stdout(), o.stdout(), cmd + " " + h);
                assertEquals("", o.stderr());
            }
        }
        // as with qemu-img's getopt, a help option after other options still gives the help
        assertEquals(top.stdout(), strata("convert", "-O", "qcow2", "--help").stdout());
        assertTrue(top.stdout().contains("[-B backing_file [-F backing_fmt]]"));
    }
}
