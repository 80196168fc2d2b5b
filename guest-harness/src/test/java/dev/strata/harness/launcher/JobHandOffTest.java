package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.monitor.qmp.QmpTestClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job's hand-off is atomic, as in QEMU: once a client has the event that says a job is over
 * (BLOCK_JOB_COMPLETED / BLOCK_JOB_CANCELLED, JOB_STATUS_CHANGE concluded or null), no client can
 * see the job in {@code query-block-jobs}/{@code query-jobs}, its op blockers on the nodes, or
 * the graph before its change; after BLOCK_JOB_READY the job reads as ready. Each test starts
 * hundreds of jobs of one type back to back, the next one the moment the previous one's event
 * arrives, over QMP and over HMP (events watched on QMP), on a tiny disk so each job takes
 * milliseconds. Before the fix the next command sometimes failed with
 * {@code Node 'virtio0' is busy: block device is in use by block job: ...}.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class JobHandOffTest {

    private static final int ROUNDS = 200;
    private static final int DISK = 256 << 10;

    @TempDir
    Path dir;

    private StrataMachine machine;
    private QmpTestClient qmp;
    private WireMonitors.Hmp hmp;

    @BeforeEach
    void start() throws Exception {
        Path base = dir.resolve("base.img");
        byte[] data = new byte[DISK];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        Files.write(base, data);
        Path q = dir.resolve("q.sock");
        Path h = dir.resolve("h.sock");
        MachineConfig c = new CommandLineParser().parse(List.of("-nodefaults", "-S",
                "-drive", "file=" + base + ",format=raw,if=virtio",
                "-blockdev", "driver=null-co,node-name=nt,size=" + DISK,
                "-qmp", "unix:" + q + ",server=on,wait=off", "-monitor", "unix:" + h + ",server=on,wait=off"));
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        machine = new MachineBuilder(new ByteArrayInputStream(new byte[0]), new PrintStream(sink, true),
                new PrintStream(sink, true)).build(c);
        qmp = QmpTestClient.negotiate(q);
        hmp = new WireMonitors.Hmp(h);
    }

    @AfterEach
    void stop() throws IOException {
        try (StrataMachine m = machine; QmpTestClient q = qmp; WireMonitors.Hmp h = hmp) {
            // closes all three
        }
    }

    private String file(String name, int i) {
        return dir.resolve(name + i + ".qcow2").toString();
    }

    private void ok(String json) throws Exception {
        assertEquals("{\"return\": {}}", qmp.call(json), json);
    }

    private void hmpOk(String line) throws Exception {
        assertEquals("", hmp.run(line), line);
    }

    /** After the end event of {@code id}: neither query lists it. */
    private void assertGone(String id) throws Exception {
        String blockJobs = qmp.call("{\"execute\": \"query-block-jobs\"}");
        assertFalse(blockJobs.contains("\"device\": \"" + id + "\""), blockJobs);
        String jobs = qmp.call("{\"execute\": \"query-jobs\"}");
        assertFalse(jobs.contains("\"id\": \"" + id + "\""), jobs);
    }

    /** After BLOCK_JOB_READY of {@code id}: query-block-jobs says ready. */
    private void assertReady(String id) throws Exception {
        String r = qmp.call("{\"execute\": \"query-block-jobs\"}");
        assertTrue(r.contains("\"device\": \"" + id + "\"") && r.contains("\"ready\": true") && r.contains("\"status\": \"ready\""), r);
    }

    private String activeFile() throws Exception {
        String r = qmp.call("{\"execute\": \"query-block\"}");
        int at = r.indexOf("\"file\": \"");
        return r.substring(at + 9, r.indexOf('"', at + 9));
    }

    private boolean hasBacking() throws Exception {
        return qmp.call("{\"execute\": \"query-block\"}").contains("\"backing_file\"");
    }

    private static String over(String id) {
        return "\"device\": \"" + id + "\"";
    }

    @Test
    void streamOverQmp() throws Exception {
        ok("{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": {\"device\": \"virtio0\", \"snapshot-file\": \"" + file("s", 0) + "\"}}");
        for (int i = 0; i < ROUNDS; i++) {
            String id = "st" + i;
            ok("{\"execute\": \"block-stream\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"" + id + "\"}}");
            qmp.awaitEvent("BLOCK_JOB_COMPLETED", over(id));
            String next = "{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": {\"device\": \"virtio0\", \"snapshot-file\": \""
                    + file("s", i + 1) + "\"}}";
            if (i % 2 == 0) {
                ok(next);
                assertGone(id);
            } else {
                assertFalse(hasBacking(), "the stream's backing change is visible with its event");
                assertGone(id);
                ok(next);
            }
        }
    }

    @Test
    void intermediateCommitOverQmp() throws Exception {
        ok("{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": {\"device\": \"virtio0\", \"snapshot-file\": \""
                + file("c", 0) + "\", \"snapshot-node-name\": \"c0\"}}");
        for (int i = 0; i < ROUNDS; i++) {
            String id = "ci" + i;
            ok("{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": {\"device\": \"virtio0\", \"snapshot-file\": \""
                    + file("c", i + 1) + "\", \"snapshot-node-name\": \"c" + (i + 1) + "\"}}");
            ok("{\"execute\": \"block-commit\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"" + id
                    + "\", \"top-node\": \"c" + i + "\"}}");
            qmp.awaitEvent("BLOCK_JOB_COMPLETED", over(id));
            if (i % 2 == 1) {
                String nodes = qmp.call("{\"execute\": \"query-named-block-nodes\"}");
                assertFalse(nodes.contains("\"node-name\": \"c" + i + "\""), "the committed node is gone with the event: " + nodes);
                assertGone(id);
            }
        }
        assertGone("ci" + (ROUNDS - 1));
    }

    @Test
    void activeCommitOverQmp() throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            String id = "ac" + i;
            ok("{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": {\"device\": \"virtio0\", \"snapshot-file\": \"" + file("a", i) + "\"}}");
            ok("{\"execute\": \"block-commit\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"" + id + "\"}}");
            qmp.awaitEvent("BLOCK_JOB_READY", over(id));
            if (i % 2 == 0) {
                assertReady(id);
            }
            ok("{\"execute\": \"block-job-complete\", \"arguments\": {\"device\": \"" + id + "\"}}");
            qmp.awaitEvent("BLOCK_JOB_COMPLETED", over(id));
            if (i % 2 == 1) {
                assertTrue(activeFile().endsWith("base.img"), "the pivot is visible with the event");
                assertGone(id);
            }
        }
    }

    @Test
    void mirrorOverQmpCompletedAndCancelled() throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            String id = "mi" + i;
            ok("{\"execute\": \"drive-mirror\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"" + id
                    + "\", \"sync\": \"full\", \"target\": \"" + file("m", i) + "\"}}");
            qmp.awaitEvent("BLOCK_JOB_READY", over(id));
            if (i % 2 == 0) {
                assertReady(id);
            }
            boolean cancel = i % 5 == 4;
            ok("{\"execute\": \"" + (cancel ? "block-job-cancel\", \"arguments\": {\"force\": true, " : "block-job-complete\", \"arguments\": {")
                    + "\"device\": \"" + id + "\"}}");
            qmp.awaitEvent(cancel ? "BLOCK_JOB_CANCELLED" : "BLOCK_JOB_COMPLETED", over(id));
            if (i % 2 == 1) {
                assertGone(id);
                if (!cancel) {
                    assertEquals(file("m", i), activeFile(), "the pivot is visible with the event");
                }
            }
        }
    }

    @Test
    void driveBackupOverQmpWithAndWithoutAutoDismiss() throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            String id = "bk" + i;
            boolean manual = i % 4 == 3;
            ok("{\"execute\": \"drive-backup\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"" + id
                    + "\", \"sync\": \"full\", \"target\": \"" + file("b", i) + "\"" + (manual ? ", \"auto-dismiss\": false" : "") + "}}");
            if (manual) {
                qmp.awaitEvent("JOB_STATUS_CHANGE", "\"status\": \"concluded\"", "\"id\": \"" + id + "\"");
                String jobs = qmp.call("{\"execute\": \"query-jobs\"}");
                assertTrue(jobs.contains("\"id\": \"" + id + "\"") && jobs.contains("\"status\": \"concluded\""), jobs);
                ok("{\"execute\": \"job-dismiss\", \"arguments\": {\"id\": \"" + id + "\"}}");
                qmp.awaitEvent("JOB_STATUS_CHANGE", "\"status\": \"null\"", "\"id\": \"" + id + "\"");
            } else {
                qmp.awaitEvent("BLOCK_JOB_COMPLETED", over(id));
            }
            if (i % 2 == 1) {
                assertGone(id);
            }
        }
    }

    @Test
    void blockdevBackupOverQmpReusesItsTargetAtOnce() throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            String id = "bb" + i;
            ok("{\"execute\": \"blockdev-backup\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"" + id
                    + "\", \"sync\": \"full\", \"target\": \"nt\"}}");
            qmp.awaitEvent("BLOCK_JOB_COMPLETED", over(id));
            if (i % 2 == 1) {
                assertGone(id);
            }
        }
    }

    @Test
    void streamOverHmp() throws Exception {
        hmpOk("snapshot_blkdev virtio0 " + file("hs", 0));
        for (int i = 0; i < ROUNDS; i++) {
            hmpOk("block_stream virtio0");
            qmp.awaitEvent("BLOCK_JOB_COMPLETED", over("virtio0"));
            hmpOk("snapshot_blkdev virtio0 " + file("hs", i + 1));
        }
    }

    @Test
    void mirrorOverHmp() throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            hmpOk("drive_mirror -f virtio0 " + file("hm", i) + " qcow2");
            qmp.awaitEvent("BLOCK_JOB_READY", over("virtio0"));
            hmpOk("block_job_complete virtio0");
            qmp.awaitEvent("BLOCK_JOB_COMPLETED", over("virtio0"));
        }
        assertEquals("No active jobs", hmp.run("info block-jobs"));
    }

    @Test
    void driveBackupOverHmp() throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            hmpOk("drive_backup -f virtio0 " + file("hb", i) + " qcow2");
            qmp.awaitEvent("BLOCK_JOB_COMPLETED", over("virtio0"));
        }
        assertEquals("No active jobs", hmp.run("info block-jobs"));
    }
}
