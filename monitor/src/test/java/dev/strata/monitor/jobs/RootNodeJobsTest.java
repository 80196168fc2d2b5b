package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs and snapshots on a root node that no device uses: the {@code -blockdev} chain
 * {@code nA <- nB <- drive0} (plus a null-co node {@code nt} and a qcow2 node {@code ov} without
 * backing), no drive. Replies, events and the graph afterwards as QEMU 7.2 gives them for the same
 * commands (checked side by side): without {@code job-id} every job is refused with
 * {@code Invalid job ID ''}; with one, every job runs; completing a mirror or an active commit
 * switches no parent over (there is none); a snapshot's new overlay, referenced by nothing, is
 * dropped again while the old node turns read-only; {@code blockdev-snapshot} hangs the node
 * under an existing overlay. Before: {@code Need a root block node} and
 * {@code Active commit needs a drive on 'drive0'}, and no {@code blockdev-snapshot}.
 */
@Timeout(120)
class RootNodeJobsTest {

    @TempDir
    Path dir;
    private BlockdevChain chain;
    private List<String> events;

    @BeforeEach
    void setUp() {
        chain = new BlockdevChain(dir);
        events = chain.events;
        assertTrue(chain.machine.graph().backends().isEmpty());
    }

    @AfterEach
    void tearDown() {
        chain.close();
    }

    private JsonNode qmp(String name, String json) {
        return chain.qmp(name, json);
    }

    private String error(String name, String json) {
        return chain.error(name, json).desc();
    }

    private void await(String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!events.contains(event)) {
            assertTrue(System.nanoTime() < deadline, "no " + event + " in " + events);
            Thread.sleep(5);
        }
    }

    private List<String> jobEvents() {
        List<String> l = new ArrayList<>(events);
        events.clear();
        return l;
    }

    private static final List<String> FINISHES = List.of("JOB_STATUS_CHANGE created", "JOB_STATUS_CHANGE running",
            "JOB_STATUS_CHANGE waiting", "JOB_STATUS_CHANGE pending", "BLOCK_JOB_COMPLETED", "JOB_STATUS_CHANGE concluded",
            "JOB_STATUS_CHANGE null");
    private static final List<String> READY_THEN_COMPLETE = List.of("JOB_STATUS_CHANGE created", "JOB_STATUS_CHANGE running",
            "JOB_STATUS_CHANGE ready", "BLOCK_JOB_READY", "JOB_STATUS_CHANGE waiting", "JOB_STATUS_CHANGE pending",
            "BLOCK_JOB_COMPLETED", "JOB_STATUS_CHANGE concluded", "JOB_STATUS_CHANGE null");

    private BlockNode node(String name) {
        return chain.node(name);
    }

    private byte readByte(BlockNode n, long offset) {
        ByteBuffer b = ByteBuffer.allocate(512);
        n.read(offset, b);
        return b.get(0);
    }

    @Test
    void everyJobWantsAJobIdAndThenRunsOnTheRootNode() throws Exception {
        String t1 = dir.resolve("T1.qcow2").toString();
        String t2 = dir.resolve("T2.qcow2").toString();
        assertEquals("Invalid job ID ''", error("drive-mirror", "{\"device\":\"drive0\",\"target\":\"" + t1 + "\",\"sync\":\"full\"}"));
        assertTrue(Files.exists(Path.of(t1)), "QEMU creates the target before it looks at the job ID");
        assertEquals("Invalid job ID ''", error("blockdev-mirror", "{\"device\":\"drive0\",\"target\":\"nt\",\"sync\":\"full\"}"));
        assertEquals("Invalid job ID ''", error("block-commit", "{\"device\":\"drive0\",\"base-node\":\"nA\"}"));
        assertEquals("Invalid job ID ''", error("block-commit", "{\"device\":\"drive0\",\"top-node\":\"nB\",\"base-node\":\"nA\"}"));
        assertEquals("Invalid job ID ''", error("block-stream", "{\"device\":\"drive0\"}"));
        assertEquals("Invalid job ID ''", error("drive-backup", "{\"device\":\"drive0\",\"target\":\"" + t2 + "\",\"sync\":\"full\"}"));
        assertEquals("Invalid job ID ''", error("blockdev-backup", "{\"device\":\"drive0\",\"target\":\"nt\",\"sync\":\"full\"}"));
        assertEquals("Need a root block node", error("drive-mirror", "{\"device\":\"nB\",\"job-id\":\"j\",\"target\":\"" + t1 + "\",\"sync\":\"full\"}"));
        assertEquals("Need a root block node", error("blockdev-mirror", "{\"device\":\"nB\",\"job-id\":\"j\",\"target\":\"nt\",\"sync\":\"full\"}"));
        assertTrue(jobEvents().isEmpty());

        // drive-mirror: READY, complete; no parent to switch, the target (opened by the command) is dropped
        qmp("drive-mirror", "{\"device\":\"drive0\",\"job-id\":\"m1\",\"target\":\"" + t1 + "\",\"sync\":\"full\"}");
        await("BLOCK_JOB_READY");
        qmp("block-job-complete", "{\"device\":\"m1\"}");
        await("JOB_STATUS_CHANGE null");
        assertEquals(READY_THEN_COMPLETE, jobEvents());
        assertNotNull(node("drive0"));
        assertTrue(chain.machine.graph().nodesNewestFirst().stream().noneMatch(n -> t1.equals(n.filename())), "target dropped");

        // blockdev-mirror to nt: the same, nt stays
        qmp("blockdev-mirror", "{\"device\":\"drive0\",\"job-id\":\"m2\",\"target\":\"nt\",\"sync\":\"full\"}");
        await("BLOCK_JOB_READY");
        qmp("block-job-complete", "{\"device\":\"m2\"}");
        await("JOB_STATUS_CHANGE null");
        assertEquals(READY_THEN_COMPLETE, jobEvents());
        assertNotNull(node("nt"));

        // active commit: C's data reaches A; the chain stays (no parent to switch onto nA)
        qmp("block-commit", "{\"device\":\"drive0\",\"job-id\":\"c1\",\"base-node\":\"nA\"}");
        await("BLOCK_JOB_READY");
        qmp("block-job-complete", "{\"device\":\"c1\"}");
        await("JOB_STATUS_CHANGE null");
        assertEquals(READY_THEN_COMPLETE, jobEvents());
        assertSame(node("nB"), node("drive0").backing());
        assertEquals((byte) 0xcc, readByte(node("nA"), 2L << 20));

        // backups
        qmp("drive-backup", "{\"device\":\"drive0\",\"job-id\":\"b1\",\"target\":\"" + t2 + "\",\"sync\":\"full\"}");
        await("JOB_STATUS_CHANGE null");
        assertEquals(FINISHES.subList(0, 2), jobEvents().subList(0, 2));
        qmp("blockdev-backup", "{\"device\":\"drive0\",\"job-id\":\"b2\",\"target\":\"nt\",\"sync\":\"full\"}");
        await("JOB_STATUS_CHANGE null");
        assertTrue(jobEvents().contains("BLOCK_JOB_COMPLETED"));

        // intermediate commit, then stream: the chain shortens under drive0
        qmp("block-commit", "{\"device\":\"drive0\",\"job-id\":\"c2\",\"top-node\":\"nB\",\"base-node\":\"nA\"}");
        await("JOB_STATUS_CHANGE null");
        assertEquals(FINISHES, jobEvents());
        assertSame(node("nA"), node("drive0").backing());
        assertNotNull(node("nB"), "QEMU's monitor holds -blockdev nodes until blockdev-del");
        qmp("block-stream", "{\"device\":\"drive0\",\"job-id\":\"s1\"}");
        await("JOB_STATUS_CHANGE null");
        assertEquals(FINISHES, jobEvents());
        assertNull(node("drive0").backing());
        assertEquals((byte) 0xaa, readByte(node("drive0"), 0));
        assertNotNull(node("nA"));
        assertNotNull(node("fA"));
    }

    @Test
    void snapshotSyncOfARootNodeDropsTheUnusedOverlayAndLeavesTheNodeReadOnly() throws Exception {
        String x1 = dir.resolve("X1.qcow2").toString();
        assertEquals("Cannot find device='drive0' nor node-name=''",
                error("blockdev-snapshot-sync", "{\"device\":\"drive0\",\"snapshot-file\":\"" + x1 + "\"}"));
        qmp("blockdev-snapshot-sync", "{\"node-name\":\"drive0\",\"snapshot-file\":\"" + x1 + "\",\"snapshot-node-name\":\"x1\"}");
        assertNull(node("x1"), "nothing uses the new overlay: QEMU drops it");
        assertTrue(node("drive0").isReadOnly());
        assertTrue(Files.exists(Path.of(x1)));
        BlockGraph g = new BlockGraph();
        try {
            BlockNode x = g.open(BlockOptions.empty().with("file", x1).with("read-only", "on").with("backing", ""));
            assertEquals(dir.resolve("C.qcow2").toString(), x.backingFileName());
        } finally {
            g.closeAll();
        }
        assertTrue(events.isEmpty());
    }

    @Test
    void blockdevSnapshotHangsTheRootUnderAnExistingOverlayWithQemusChecks() throws Exception {
        assertEquals("Cannot find device='nosuch' nor node-name='nosuch'", error("blockdev-snapshot", "{\"node\":\"nosuch\",\"overlay\":\"ov\"}"));
        assertEquals("Cannot find device='nosuch' nor node-name='nosuch'", error("blockdev-snapshot", "{\"node\":\"drive0\",\"overlay\":\"nosuch\"}"));
        assertEquals("The overlay already has a backing image", error("blockdev-snapshot", "{\"node\":\"drive0\",\"overlay\":\"nB\"}"));
        assertEquals("The overlay is already in use", error("blockdev-snapshot", "{\"node\":\"drive0\",\"overlay\":\"fS\"}"));
        assertEquals("The overlay does not support backing images", error("blockdev-snapshot", "{\"node\":\"drive0\",\"overlay\":\"nt\"}"));
        assertEquals("Making 'ov' a backing child of 'ov' would create a cycle", error("blockdev-snapshot", "{\"node\":\"ov\",\"overlay\":\"ov\"}"));
        assertEquals("Node 'nB' is busy: node is used as backing hd of 'drive0'", error("blockdev-snapshot", "{\"node\":\"nB\",\"overlay\":\"ov\"}"));
        qmp("blockdev-snapshot", "{\"node\":\"drive0\",\"overlay\":\"ov\"}");
        assertSame(node("drive0"), node("ov").backing());
        assertTrue(node("drive0").isReadOnly());
        assertEquals((byte) 0xcc, readByte(node("ov"), 2L << 20), "the overlay reads through to drive0");
        qmp("block-stream", "{\"device\":\"ov\",\"job-id\":\"s2\"}");
        await("JOB_STATUS_CHANGE null");
        assertEquals(FINISHES, jobEvents());
        assertNull(node("ov").backing());
        assertEquals((byte) 0xbb, readByte(node("ov"), 1L << 20));
    }
}
