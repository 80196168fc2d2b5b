package dev.strata.monitor.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.device.BlockStats;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.Oracle;
import dev.strata.monitor.TestMachine;
import dev.strata.monitor.hmp.HmpInterpreter;
import dev.strata.monitor.qmp.QmpJson;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code info block}, {@code info blockstats} and the block queries against the reference formats (§1.3). */
@Timeout(120)
class BlockCommandsTest {

    @TempDir
    Path dir;
    TestMachine machine;
    HmpInterpreter hmp;
    String t;

    @BeforeEach
    void setUp() throws Exception {
        Oracle.requireQemuImg();
        t = dir.toString();
        Oracle.run("qemu-img", "create", "-q", "-f", "qcow2", dir.resolve("A.qcow2").toString(), "64M");
        Oracle.run("qemu-io", "-c", "write -P 0xaa 0 1M", dir.resolve("A.qcow2").toString());
        Oracle.run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "A.qcow2", "-F", "qcow2", dir.resolve("C.qcow2").toString());
        Oracle.run("qemu-img", "create", "-q", "-f", "raw", dir.resolve("R.img").toString(), "16M");
        machine = new TestMachine(dir);
        machine.addDrive("virtio0", dir.resolve("C.qcow2"), null);
        machine.addDrive("virtio1", dir.resolve("R.img"), "raw");
        hmp = machine.monitor().hmp();
    }

    @AfterEach
    void tearDown() {
        if (machine != null) {
            machine.graph().closeAll();
        }
    }

    private String run(String line) {
        return hmp.executeNow(line);
    }

    /** Replaces auto node names, which differ per run (§1.3), by #blockN. */
    private static String names(String s) {
        return s.replaceAll("#block\\d+", "#blockN");
    }

    @Test
    void infoBlockPlain() {
        String expected = """
                virtio0 (#blockN): T/C.qcow2 (qcow2)
                    Attached to:      /machine/peripheral-anon/device[0]/virtio-backend
                    Cache mode:       writeback
                    Backing file:     T/A.qcow2 (chain depth: 1)

                virtio1 (#blockN): T/R.img (raw)
                    Attached to:      /machine/peripheral-anon/device[1]/virtio-backend
                    Cache mode:       writeback
                """.replace("T/", t + "/");
        assertEquals(expected, names(run("info block")));
        assertEquals(expected.substring(0, expected.indexOf("\n\n") + 1), names(run("info block virtio0")));
        // QEMU puts the separator before every device but the first in the list, printed or not
        assertEquals(expected.substring(expected.indexOf("\n\n") + 1), names(run("info block virtio1")));
        assertEquals("", run("info block nosuch"));
        assertEquals("", run("info block -n -v virtio1"));
        assertEquals(expected.substring(0, expected.indexOf("\n\n") + 1), names(run("info block \"virtio0\"")));
    }

    @Test
    void infoBlockNodesNewestFirst() {
        String expected = """
                #blockN: T/R.img (raw)
                    Cache mode:       writeback

                #blockN: T/R.img (file)
                    Cache mode:       writeback

                #blockN: T/A.qcow2 (qcow2, read-only)
                    Cache mode:       writeback

                #blockN: T/A.qcow2 (file, read-only)
                    Cache mode:       writeback

                #blockN: T/C.qcow2 (qcow2)
                    Cache mode:       writeback
                    Backing file:     T/A.qcow2 (chain depth: 1)

                #blockN: T/C.qcow2 (file)
                    Cache mode:       writeback
                """.replace("T/", t + "/");
        // the same order QEMU 7.2 printed for this set-up: newest first, backing images above their overlay
        assertEquals(expected, names(run("info block -n")));
        String node = machine.graph().backend("virtio0").root().nodeName();
        assertEquals(node + ": " + t + "/C.qcow2 (qcow2)\n    Cache mode:       writeback\n    Backing file:     " + t
                + "/A.qcow2 (chain depth: 1)\n", run("info block " + node).replaceFirst("^\n", ""));
    }

    @Test
    void verboseImagesMatchQemuImgInfo() throws Exception {
        String out = run("info block -v virtio0");
        int images = out.indexOf("\nImages:\n");
        assertTrue(images > 0, out);
        String dump = out.substring(images + "\nImages:\n".length());
        String c = Oracle.run("qemu-img", "info", "-U", dir.resolve("C.qcow2").toString());
        String a = Oracle.run("qemu-img", "info", "-U", dir.resolve("A.qcow2").toString());
        assertEquals(c + a, dump);
        String raw = run("info block -v virtio1");
        assertTrue(raw.endsWith("\nImages:\n" + Oracle.run("qemu-img", "info", "-U", "-f", "raw", dir.resolve("R.img").toString())), raw);
    }

    @Test
    void infoBlockstatsFormat() {
        assertEquals("""
                virtio0: rd_bytes=0 wr_bytes=0 rd_operations=0 wr_operations=0 flush_operations=0 wr_total_time_ns=0 rd_total_time_ns=0 flush_total_time_ns=0 rd_merged=0 wr_merged=0 idle_time_ns=0
                virtio1: rd_bytes=0 wr_bytes=0 rd_operations=0 wr_operations=0 flush_operations=0 wr_total_time_ns=0 rd_total_time_ns=0 flush_total_time_ns=0 rd_merged=0 wr_merged=0 idle_time_ns=0
                """, run("info blockstats"));
    }

    @Test
    void queryBlockstatsShowsIdleTimeOnlyAfterTheFirstIo() throws Exception {
        JsonNode idle = BlockStatsQuery.query(machine).get(0).get("stats");
        assertFalse(idle.has("idle_time_ns"), "no idle time before the first I/O");
        assertTrue(idle.get("account_invalid").asBoolean());
        assertEquals("unmap_operations", QmpJson.keyOrder(idle).get(0), "QEMU 7.2 prints the stats in its QDict order");
        TestMachine busy = new TestMachine(dir) {
            @Override
            public Optional<BlockStats> deviceStats(String backend) {
                return Optional.of(new BlockStats(4096, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0, 12345, true, true));
            }
        };
        Oracle.run("qemu-img", "create", "-q", "-f", "raw", dir.resolve("S.img").toString(), "1M");
        busy.addDrive("virtio0", dir.resolve("S.img"), "raw");
        try {
            JsonNode s = BlockStatsQuery.query(busy).get(0).get("stats");
            assertEquals(12345, s.get("idle_time_ns").asLong());
            assertEquals(4096, s.get("rd_bytes").asLong());
            assertEquals(7, s.get("rd_total_time_ns").asLong());
        } finally {
            busy.graph().closeAll();
        }
    }

    @Test
    void humanSizesAreQemus() {
        assertEquals("64 MiB", BlockInfoText.sizeToStr(64 << 20));
        assertEquals("196 KiB", BlockInfoText.sizeToStr(200704));
        assertEquals("1.25 MiB", BlockInfoText.sizeToStr(1310720));
        assertEquals("0.977 KiB", BlockInfoText.sizeToStr(1000));
        assertEquals("999 B", BlockInfoText.sizeToStr(999));
        assertEquals("0 B", BlockInfoText.sizeToStr(0));
        assertEquals("4 KiB", BlockInfoText.sizeToStr(4096));
    }
}
