package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.harness.torture.Tools;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code detect-zeroes}, {@code discard} and {@code copy-on-read} do on Strata what they do on
 * QEMU 7.2 (the same commands through HMP {@code qemu-io} on a copy of the same image, then
 * {@code qemu-img map} of both), {@code info block} reports them with QEMU's text, and keys
 * Strata would not act on are refused with a one-line error naming them.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RequestOptionsTest {

    @TempDir
    Path dir;

    private static final String[] IO = {"qemu-io d0 \"write -P 0 0 128k\"", "qemu-io d0 \"write -P 0 512k 4k\"",
        "qemu-io d0 \"discard 768k 128k\"", "qemu-io d0 \"read -P 1 256k 4k\""};

    private StrataMachine build(String... args) {
        MachineConfig c = new CommandLineParser().parse(Arrays.asList(args));
        return new MachineBuilder(new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream())).build(c);
    }

    /** Runs QEMU 7.2 with {@code args}, feeds HMP {@code commands}, returns what it printed (stdout and stderr). */
    private static String qemu(Path cwd, List<String> args, String... commands) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                "-monitor", "stdio"));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
        StringBuilder in = new StringBuilder();
        for (String c : commands) {
            in.append(c).append('\n');
        }
        in.append("quit\n");
        p.getOutputStream().write(in.toString().getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return out;
    }

    private static boolean qemuAvailable() {
        try {
            return Tools.qemuAvailable() && new ProcessBuilder("qemu-system-x86_64", "--version").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** {@code qemu-img map --output=json} with host offsets reduced to "has one" (zero clusters may keep theirs). */
    private String map(Path image) throws IOException {
        return Tools.must(dir, "qemu-img", "map", "--output=json", image.toString()).replaceAll("\"offset\": \\d+", "\"offset\": N");
    }

    private Path image(String name) throws IOException {
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", name, "4M");
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 1 0 1M", name);
        return dir.resolve(name);
    }

    @Test
    void detectZeroesAndDiscardDoWhatQemuDoesAndInfoBlockSaysSo() throws Exception {
        assumeTrue(qemuAvailable(), "qemu-system-x86_64/qemu-img missing: detect-zeroes NOT compared with QEMU");
        String[] cases = {"", "detect-zeroes=on", "detect-zeroes=unmap", "detect-zeroes=on,discard=unmap",
            "detect-zeroes=unmap,discard=unmap", "discard=unmap", "discard=ignore", "discard=on", "discard=off"};
        int i = 0;
        for (String opts : cases) {
            Path s = image("s" + i + ".qcow2");
            Path q = image("q" + i + ".qcow2");
            i++;
            String extra = opts.isEmpty() ? "" : "," + opts;
            String strataInfo;
            try (StrataMachine m = build("-drive", "file=" + s + ",if=none,id=d0" + extra, "-monitor", "none")) {
                for (String c : IO) {
                    String r = m.monitor().hmp().executeNow(c);
                    assertTrue(!r.contains("error") && !r.contains("Pattern verification failed"), opts + ": " + c + " -> " + r);
                }
                strataInfo = m.monitor().hmp().executeNow("info block");
            }
            String qemuOut = qemu(dir, List.of("-drive", "file=" + q + ",if=none,id=d0" + extra), concat(IO, "info block"));
            assertEquals(map(q), map(s), "qemu-img map after the same writes with '" + opts + "'");
            assertEquals(detectLine(qemuOut), detectLine(strataInfo), "info block with '" + opts + "'");
        }
    }

    @Test
    void blockdevDefaultsAndDetectZeroesMatchQemu() throws Exception {
        assumeTrue(qemuAvailable(), "qemu-system-x86_64/qemu-img missing: -blockdev detect-zeroes NOT compared with QEMU");
        String[] cases = {"", "detect-zeroes=on", "discard=unmap", "detect-zeroes=unmap,discard=unmap", "discard=ignore"};
        int i = 0;
        for (String opts : cases) {
            Path s = image("bs" + i + ".qcow2");
            Path q = image("bq" + i + ".qcow2");
            i++;
            String extra = opts.isEmpty() ? "" : "," + opts;
            String strataInfo;
            try (StrataMachine m = build("-blockdev", "driver=file,filename=" + s + ",node-name=f0",
                    "-blockdev", "driver=qcow2,file=f0,node-name=d0" + extra, "-monitor", "none")) {
                for (String c : IO) {
                    String r = m.monitor().hmp().executeNow(c);
                    assertTrue(!r.contains("error"), opts + ": " + c + " -> " + r);
                }
                strataInfo = m.monitor().hmp().executeNow("info block -n");
            }
            String qemuOut = qemu(dir, List.of("-blockdev", "driver=file,filename=" + q + ",node-name=f0",
                    "-blockdev", "driver=qcow2,file=f0,node-name=d0" + extra), concat(IO, "info block -n"));
            assertEquals(map(q), map(s), "-blockdev: qemu-img map after the same writes with '" + opts + "'");
            assertEquals(detectLine(qemuOut), detectLine(strataInfo), "-blockdev: info block -n with '" + opts + "'");
        }
    }

    private static String[] concat(String[] a, String b) {
        String[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = b;
        return r;
    }

    private static String detectLine(String text) {
        return text.lines().filter(l -> l.startsWith("    Detect zeroes:")).findFirst().orElse("(none)");
    }

    @Test
    void aSnapshotOverlayKeepsDiscardAndStartsWithoutDetectZeroesLikeQemu() throws Exception {
        assumeTrue(qemuAvailable(), "qemu-system-x86_64/qemu-img missing: snapshot options NOT compared with QEMU");
        for (String opts : new String[] {"detect-zeroes=on", "detect-zeroes=unmap,discard=unmap"}) {
            Path s = image("snap-s.qcow2");
            Path q = image("snap-q.qcow2");
            String[] cmds = {"snapshot_blkdev d0 OVERLAY qcow2", "qemu-io d0 \"write -P 5 0 256k\"",
                "qemu-io d0 \"discard 0 128k\"", "qemu-io d0 \"write -P 0 128k 64k\"", "info block"};
            String strataInfo;
            try (StrataMachine m = build("-drive", "file=" + s + ",if=none,id=d0," + opts, "-monitor", "none")) {
                for (String c : cmds) {
                    m.monitor().hmp().executeNow(c.replace("OVERLAY", dir.resolve("ov-s.qcow2").toString()));
                }
                strataInfo = m.monitor().hmp().executeNow("info block");
            }
            String[] qc = cmds.clone();
            qc[0] = qc[0].replace("OVERLAY", dir.resolve("ov-q.qcow2").toString());
            String qemuOut = qemu(dir, List.of("-drive", "file=" + q + ",if=none,id=d0," + opts), qc);
            assertEquals(map(dir.resolve("ov-q.qcow2")), map(dir.resolve("ov-s.qcow2")), opts);
            assertEquals(detectLine(qemuOut), detectLine(strataInfo), opts);
            for (String f : new String[] {"snap-s.qcow2", "snap-q.qcow2", "ov-s.qcow2", "ov-q.qcow2"}) {
                Files.delete(dir.resolve(f));
            }
        }
    }

    @Test
    void queryBlockAndNamedNodesReportDetectZeroesPerNode() throws Exception {
        Path s = image("n.qcow2");
        try (StrataMachine m = build("-blockdev", "driver=file,filename=" + s + ",node-name=f0",
                "-blockdev", "driver=qcow2,file=f0,node-name=q0,detect-zeroes=unmap,discard=unmap",
                "-device", "virtio-blk-pci,drive=q0", "-monitor", "none")) {
            String nodes = m.monitor().hmp().executeNow("info block -n");
            assertTrue(nodes.contains("q0: " + s + " (qcow2)\n    Cache mode:       writeback\n    Detect zeroes:    unmap\n"), nodes);
            assertTrue(nodes.contains("f0: " + s + " (file)\n    Cache mode:       writeback\n\n") || nodes.endsWith("f0: " + s
                    + " (file)\n    Cache mode:       writeback\n"), nodes);
        }
    }

    @Test
    void copyOnReadFillsTheTopLayerLikeQemu() throws Exception {
        assumeTrue(qemuAvailable(), "qemu-system-x86_64/qemu-img missing: copy-on-read NOT compared with QEMU");
        for (String who : new String[] {"s", "q"}) {
            Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", who + "base.qcow2", "4M");
            Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 3 0 2M", who + "base.qcow2");
            Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", who + "base.qcow2", "-F", "qcow2", who + "top.qcow2");
        }
        String[] reads = {"qemu-io d0 \"read -P 3 0 128k\"", "qemu-io d0 \"read -P 3 1000k 8k\"", "qemu-io d0 \"read -P 0 3M 64k\""};
        try (StrataMachine m = build("-drive", "file=" + dir.resolve("stop.qcow2") + ",if=none,id=d0,copy-on-read=on", "-monitor", "none")) {
            for (String c : reads) {
                String r = m.monitor().hmp().executeNow(c);
                assertTrue(r.startsWith("read "), c + " -> " + r);
            }
        }
        qemu(dir, List.of("-drive", "file=" + dir.resolve("qtop.qcow2") + ",if=none,id=d0,copy-on-read=on"), reads);
        assertEquals(map(dir.resolve("qtop.qcow2")), map(dir.resolve("stop.qcow2")));
        assertTrue(map(dir.resolve("stop.qcow2")).contains("\"start\": 0, \"length\": 131072, \"depth\": 0"), map(dir.resolve("stop.qcow2")));
        // read-only drive: QEMU disables it (with a warning); nothing is written
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        MachineConfig c = new CommandLineParser().parse(List.of("-drive", "file=" + dir.resolve("sbase.qcow2")
                + ",if=none,id=d1,copy-on-read=yes,readonly=on", "-monitor", "none"));
        try (StrataMachine m = new MachineBuilder(new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true)).build(c)) {
            assertTrue(m.monitor().hmp().executeNow("qemu-io d1 \"read 0 64k\"").startsWith("read "));
        }
        assertTrue(err.toString().contains("copy-on-read=yes,readonly=on: warning: disabling copy-on-read on read-only drive"), err.toString());
    }

    @Test
    void optionsStrataWouldNotActOnAreRefusedByName() throws Exception {
        Path s = image("r.qcow2");
        String[][] refused = {
            {"-drive", "file=" + s + ",if=none,file.foo=1", "Block protocol 'file' doesn't support the option 'foo'"},
            {"-drive", "file=" + s + ",if=none,format=qcow2,foo=1", "Block format 'qcow2' does not support the option 'foo'"},
            {"-drive", "file=" + s + ",if=none,foo=1", "Block format 'qcow2' does not support the option 'foo'"},
            {"-drive", "file=" + s + ",if=none,bps=1000", "-drive option 'bps' is not supported by Strata"},
            {"-drive", "file=" + s + ",if=none,format=raw,lazy-refcounts=off", "Block format 'raw' does not support the option 'lazy-refcounts'"},
            {"-drive", "file=" + s + ",if=none,cache-size=1M", "qcow2 option 'cache-size' is not supported by Strata"},
            {"-drive", "file=" + s + ",if=none,cache-clean-interval=5", "qcow2 option 'cache-clean-interval' is not supported by Strata"},
            {"-drive", "file=" + s + ",if=none,l2-cache-entry-size=4k", "qcow2 option 'l2-cache-entry-size' is not supported by Strata"},
            {"-drive", "file=" + s + ",if=none,lazy-refcounts=on", "lazy-refcounts=on is not supported by Strata"},
            {"-drive", "file=" + s + ",if=none,auto-read-only=on", "auto-read-only=on is not supported by Strata"},
            {"-drive", "file=" + s + ",if=none,aio=native", "aio=native is not supported by Strata"},
            {"-drive", "file=" + s + ",if=none,aio=bogus", "invalid aio option"},
            {"-drive", "file=" + s + ",if=none,detect-zeroes=bogus", "invalid parameter value: bogus"},
            {"-drive", "file=" + s + ",if=none,discard=bogus", "Invalid discard option"},
            {"-drive", "file=" + s + ",if=none,copy-on-read=bogus", "Parameter 'copy-on-read' expects 'on' or 'off'"},
            {"-blockdev", "driver=qcow2,node-name=a,file.driver=file,file.filename=" + s + ",file.foo=1", "Parameter 'file.foo' is unexpected"},
            {"-blockdev", "driver=qcow2,node-name=a,file.driver=file,file.filename=" + s + ",foo=1", "Parameter 'foo' is unexpected"},
            {"-blockdev", "driver=qcow2,node-name=a,file.driver=file,file.filename=" + s + ",copy-on-read=on", "Parameter 'copy-on-read' is unexpected"},
            {"-blockdev", "driver=qcow2,node-name=a,file.driver=file,file.filename=" + s + ",discard=on", "Parameter 'discard' does not accept value 'on'"},
            {"-blockdev", "driver=qcow2,node-name=a,file.driver=file,file.filename=" + s + ",detect-zeroes=unmap",
                "setting detect-zeroes to unmap is not allowed without setting discard operation to unmap"},
            {"-blockdev", "driver=qcow2,node-name=a,file.driver=file,file.filename=" + s + ",detect-zeroes=bogus",
                "Parameter 'detect-zeroes' does not accept value 'bogus'"},
        };
        for (String[] r : refused) {
            UsageException e = assertThrows(UsageException.class, () -> build(r[0], r[1], "-monitor", "none"), r[1]);
            assertTrue(e.getMessage().contains(r[2]), r[1] + " -> " + e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        }
        // what QEMU 7.2 says for the same lines, where the text is QEMU's
        if (qemuAvailable()) {
            for (String[] r : refused) {
                if (r[2].contains("Strata")) {
                    continue;
                }
                String q = qemu(dir, List.of(r[0], r[1].replace(s.toString(), s.getFileName().toString())));
                assertTrue(q.contains(r[2]), "QEMU says for " + r[1] + ": " + q);
            }
        }
        // accepted and acted on
        try (StrataMachine m = build("-drive", "file=" + s + ",if=none,id=d0,aio=threads,l2-cache-size=1M,refcount-cache-size=256k,"
                + "lazy-refcounts=off,file.locking=off,detect-zeroes=on", "-monitor", "none")) {
            assertTrue(m.monitor().hmp().executeNow("info block d0").contains("Detect zeroes:    on"));
        }
        Files.deleteIfExists(s);
    }
}
