package dev.strata.monitor.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code info chain} and {@code info guest} through the real registry: HMP text and QMP JSON of the same state. */
@Timeout(120)
class WatchCommandsTest {

    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;

    /** file-A.img <- ... each layer i holding (i+1) MiB of its own data at i MiB. */
    private void chain(String... names) {
        for (int i = 0; i < names.length; i++) {
            BlockOptions o = BlockOptions.empty();
            if (i > 0) {
                o = o.with("backing_file", names[i - 1]).with("backing_fmt", "qcow2");
            }
            DriverRegistry.standard().require("qcow2").create(dir.resolve(names[i]), SIZE, o);
            BlockGraph g = new BlockGraph();
            BlockNode n = g.open(BlockOptions.empty().with("file", dir.resolve(names[i]).toString()).with("driver", "qcow2"));
            n.write((long) i << 20, ByteBuffer.wrap(new byte[(i + 1) << 20]).put(0, (byte) 1));
            n.flush();
            g.closeAll();
        }
    }

    private void start(String top, GuestWatch guest) {
        machine = new TestMachine(dir);
        BlockOptions o = BlockOptions.empty().with("file", dir.resolve(top).toString()).with("node-name", "top");
        BlockBackend b = machine.graph().createBackend("virtio0", machine.graph().open(o), BlockBackend.CacheMode.WRITEBACK);
        b.setAttachedTo("/machine/peripheral-anon/device[0]/virtio-backend");
        monitor = machine.monitor(guest != null ? guest : GuestWatch.NONE);
    }

    @AfterEach
    void tearDown() {
        if (monitor != null) {
            machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
            machine.graph().closeAll();
        }
    }

    private String hmp(String line) {
        return monitor.hmp().executeNow(line);
    }

    private JsonNode qmp(String name, ObjectNode args) {
        CommandContext ctx = new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder());
        return monitor.registry().invoke(name, args, ctx);
    }

    @Test
    void chainInTheSeedsNotationWithEveryLayer() {
        chain("file-A.img", "file-B.img", "file-C.img");
        start("file-C.img", null);
        JsonNode c = qmp("x-strata-query-chain", null).get(0);
        assertEquals("virtio0", c.get("device").asText());
        assertEquals(3, c.get("layers").size());
        JsonNode a = c.get("layers").get(0);
        assertEquals("A", a.get("label").asText());
        assertEquals(dir.resolve("file-A.img").toString(), a.get("filename").asText());
        assertEquals(1L << 20, a.get("allocated").asLong(), "layer A holds 1 MiB");
        assertEquals(3L << 20, c.get("layers").get(2).get("allocated").asLong(), "the top holds 3 MiB");
        assertEquals("top", c.get("layers").get(2).get("node-name").asText());
        assertEquals(0, c.get("jobs").size());

        String text = hmp("info chain");
        List<String> lines = text.lines().toList();
        assertEquals("[A] <- [B] <- [C] <- virtio0", lines.get(0));
        assertEquals("  [A] " + a.get("node-name").asText() + "  " + dir.resolve("file-A.img") + " (qcow2)  1.0 MiB allocated of 16.0 MiB",
                lines.get(1));
        assertTrue(lines.get(3).startsWith("  [C] top  "), text);
        assertEquals(text, hmp("info chain virtio0"), "the device argument picks the same drive");
    }

    @Test
    void aRunningStreamIsDrawnOnTheLayersItCopies() throws Exception {
        chain("file-A.img", "file-B.img", "file-C.img", "file-D.img", "file-E.img");
        start("file-E.img", null);
        assertEquals("", hmp("block_stream virtio0 64k file-A.img"));  // slow: still running when we look
        JsonNode job = qmp("x-strata-query-chain", Json.object().put("device", "virtio0")).get(0).get("jobs").get(0);
        assertEquals("stream", job.get("type").asText());
        assertEquals("virtio0", job.get("id").asText());
        assertEquals("[\"B\",\"C\",\"D\",\"E\"]", job.get("layers").toString(), "stream copies B..D into E");
        assertFalse(job.has("target"));
        List<String> lines = hmp("info chain").lines().toList();
        assertEquals("[A] <- [B] <- [C] <- [D] <- [E] <- virtio0", lines.get(0));
        String span = lines.get(1);
        // from under [B] to under [E], pointing at E: '==== stream virtio0 N% ====>'
        assertEquals(7, span.indexOf('\''), span);
        assertEquals(lines.get(0).indexOf("[E]") + 2, span.indexOf('>'), span);
        assertTrue(span.matches(" {7}'=+ stream virtio0 \\d+% =+>"), span);
    }

    @Test
    void commitPointsAtItsBaseAndMirrorNamesItsTarget() throws Exception {
        chain("file-A.img", "file-B.img", "file-C.img");
        start("file-C.img", null);
        assertEquals("", hmp("drive_mirror virtio0 " + dir.resolve("m.qcow2") + " qcow2"));
        JsonNode chain = awaitJob();
        JsonNode mirror = chain.get("jobs").get(0);
        assertEquals("mirror", mirror.get("type").asText());
        assertEquals("[\"C\"]", mirror.get("layers").toString());
        assertEquals(dir.resolve("m.qcow2").toString(), mirror.get("target").get("filename").asText());
        String line = hmp("info chain").lines().toList().get(1);
        assertTrue(line.contains("^ mirror virtio0 ") && line.endsWith(" ==> " + dir.resolve("m.qcow2") + " ("
                + mirror.get("target").get("node-name").asText() + ")"), line);
        hmp("block_job_cancel -f virtio0");
        awaitNoJobs();

        ObjectNode commit = Json.object().put("device", "virtio0").put("top", dir.resolve("file-B.img").toString()).put("speed", 1024);
        qmp("block-commit", commit);
        JsonNode all = qmp("x-strata-query-chain", null).get(0);
        JsonNode job = all.get("jobs").get(0);
        assertEquals("[\"A\",\"B\"]", job.get("layers").toString(), "commit of B into A: " + all);
        String span = hmp("info chain").lines().toList().get(1);
        assertTrue(span.matches("<=+' commit virtio0 \\d+%"), "from [A] to [B], pointing at the base: " + span);
        assertEquals(hmp("info chain").lines().toList().get(0).indexOf("[B]") + 2, span.indexOf('\''), span);
    }

    @Test
    void layersKeepTheirLettersWhileTheChainChanges() throws Exception {
        chain("file-A.img", "file-B.img", "file-C.img");
        start("file-C.img", null);
        assertEquals("[A] <- [B] <- [C] <- virtio0", hmp("info chain").lines().findFirst().orElseThrow());
        assertEquals("", hmp("block_stream virtio0 file-A.img"));
        awaitNoJobs();
        assertEquals("[A] <- [C] <- virtio0", hmp("info chain").lines().findFirst().orElseThrow(), "as the seed writes it");
        assertEquals("", hmp("snapshot_blkdev virtio0 " + dir.resolve("snap.qcow2") + " qcow2"));
        List<String> lines = hmp("info chain").lines().toList();
        assertEquals("[A] <- [C] <- [D] <- virtio0", lines.get(0), "a new layer takes the next letter");
        assertTrue(lines.get(3).startsWith("  [D] ") && lines.get(3).contains(dir.resolve("snap.qcow2").toString()), lines.get(3));
    }

    @Test
    void unknownDeviceIsOneLineError() {
        chain("file-A.img");
        start("file-A.img", null);
        assertEquals("Error: Device 'nope' not found\n", hmp("info chain nope"));
        CommandException e = org.junit.jupiter.api.Assertions.assertThrows(CommandException.class,
                () -> qmp("x-strata-query-chain", Json.object().put("device", "nope")));
        assertEquals("Device 'nope' not found", e.getMessage());
    }

    @Test
    void guestFiguresAsJsonAndAsATable() {
        chain("file-A.img");
        GuestWatch guest = () -> List.of(
                new GuestWatch.Figures("virtio0-randrw", "virtio0", true, 4999.6, 20.0 * 1048576, 45_000, 1_240_000, 123456, true, 61000, 0),
                new GuestWatch.Figures("full0-randwrite", "full0", false, 0, 0, 0, 0, 7, false, 0, 0));
        start("file-A.img", guest);
        JsonNode j = qmp("x-strata-query-guest", null);
        assertEquals(2, j.size());
        assertEquals("virtio0-randrw", j.get(0).get("workload").asText());
        assertEquals(4999.6, j.get(0).get("iops").asDouble());
        assertEquals(61000, j.get(0).get("blocks-checked").asLong());
        assertFalse(j.get(1).get("running").asBoolean());
        List<String> lines = hmp("info guest").lines().toList();
        assertEquals("workload           state        IOPS     MiB/s      p50      p99  operations  verification", lines.get(0));
        assertEquals("virtio0-randrw     running      5000      20.0     45us    1.2ms      123456  61000 blocks checked, 0 failures",
                lines.get(1));
        assertEquals("full0-randwrite    stopped         0       0.0      0us      0us           7  off", lines.get(2));
    }

    @Test
    void noGuestSaysSo() {
        chain("file-A.img");
        start("file-A.img", null);
        assertEquals("No guest workloads\n", hmp("info guest"));
        assertEquals("[]", qmp("x-strata-query-guest", null).toString());
    }

    @Test
    void helpMarksThemAsStratasOwn() {
        chain("file-A.img");
        start("file-A.img", null);
        String help = hmp("help info");
        assertTrue(help.contains("info chain [device] -- [Strata's own] draw each drive's backing chain"), help);
        assertTrue(help.contains("info guest  -- [Strata's own] show what the synthetic guest is doing"), help);
        assertTrue(hmp("help info block").startsWith("info block [-n] [-v] [device] -- describe"), "QEMU's own stay unmarked");
    }

    private JsonNode awaitJob() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            JsonNode c = qmp("x-strata-query-chain", null).get(0);
            if (c.get("jobs").size() > 0) {
                return c;
            }
            assertTrue(System.nanoTime() < deadline, "no job appeared");
            Thread.sleep(10);
        }
    }

    private void awaitNoJobs() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!hmp("info block-jobs").equals("No active jobs\n")) {
            assertTrue(System.nanoTime() < deadline, "job did not finish: " + hmp("info block-jobs"));
            Thread.sleep(20);
        }
    }
}
