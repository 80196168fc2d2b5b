package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.jobs.JobManager;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.ErrorClass;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.QmpEvent;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The job commands end to end through the real registry, HMP interpreter and qcow2 images. */
@Timeout(120)
class JobCommandsTest {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private Monitor monitor;
    private final List<String> events = new CopyOnWriteArrayList<>();

    /** file-A.img <- file-B.img <- file-C.img <- file-D.img <- top.img, each with 1 MiB of its own data. */
    private void chain(String... names) {
        for (int i = 0; i < names.length; i++) {
            BlockOptions o = BlockOptions.empty();
            if (i > 0) {
                o = o.with("backing_file", names[i - 1]).with("backing_fmt", "qcow2");
            }
            DriverRegistry.standard().require("qcow2").create(dir.resolve(names[i]), SIZE, o);
            dev.strata.blockdrv.BlockGraph g = new dev.strata.blockdrv.BlockGraph();
            BlockNode n = g.open(BlockOptions.empty().with("file", dir.resolve(names[i]).toString()).with("driver", "qcow2"));
            byte[] data = new byte[1 << 20];
            java.util.Arrays.fill(data, (byte) (0xa0 + i));
            n.write((long) i << 20, ByteBuffer.wrap(data));
            n.flush();
            g.closeAll();
        }
    }

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
    }

    private void start(BlockOptions root) {
        BlockNode n = machine.graph().open(root);
        BlockBackend b = machine.graph().createBackend("virtio0", n, BlockBackend.CacheMode.WRITEBACK);
        b.setAttachedTo("/machine/peripheral-anon/device[0]/virtio-backend");
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name() + (e.data() != null && e.data().has("status") ? " " + e.data().get("status").asText() : "")));
    }

    @AfterEach
    void tearDown() {
        if (monitor != null) {
            machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
        }
        machine.graph().closeAll();
    }

    private String hmp(String line) {
        return monitor.hmp().executeNow(line);
    }

    private JsonNode qmp(String name, ObjectNode args) {
        CommandContext ctx = new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder());
        return monitor.registry().invoke(name, args, ctx);
    }

    private void awaitNoJobs() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!hmp("info block-jobs").equals("No active jobs\n")) {
            assertTrue(System.nanoTime() < deadline, "job did not finish: " + hmp("info block-jobs"));
            Thread.sleep(20);
        }
    }

    private byte[] readAll() {
        ByteBuffer b = ByteBuffer.allocate((int) SIZE);
        machine.graph().backend("virtio0").read(0, b);
        return b.array();
    }

    @Test
    void seedFormStreamsToTheNamedBase() throws Exception {
        chain("file-A.img", "file-B.img", "file-C.img");
        start(BlockOptions.empty().with("file", dir.resolve("file-C.img").toString()));
        byte[] before = readAll();
        assertEquals("", hmp("block_stream virtio0 file-A.img"));
        awaitNoJobs();
        BlockNode root = machine.graph().backend("virtio0").root();
        assertEquals(dir.resolve("file-A.img").toString(), root.backing().filename());
        assertEquals(dir.resolve("file-A.img").toString(), root.backingFileName());
        assertEquals(java.util.Arrays.hashCode(before), java.util.Arrays.hashCode(readAll()));
        assertEquals(List.of("JOB_STATUS_CHANGE created", "JOB_STATUS_CHANGE running", "JOB_STATUS_CHANGE waiting",
                "JOB_STATUS_CHANGE pending", "BLOCK_JOB_COMPLETED", "JOB_STATUS_CHANGE concluded", "JOB_STATUS_CHANGE null"), events);
    }

    @Test
    void seedFormOnAnIntermediateNode() throws Exception {
        chain("file-A.img", "file-B.img", "file-C.img", "file-D.img", "top.img");
        start(BlockOptions.empty().with("file", dir.resolve("top.img").toString()).with("backing.node-name", "node-D"));
        BlockNode top = machine.graph().backend("virtio0").root();
        byte[] before = readAll();
        assertEquals("", hmp("block_stream node-D file-B.img"));
        awaitNoJobs();
        BlockNode d = machine.graph().node("node-D");
        assertEquals(top, machine.graph().backend("virtio0").root());
        assertEquals(d, top.backing(), "the layer above is untouched");
        assertEquals(dir.resolve("file-B.img").toString(), d.backing().filename());
        assertTrue(d.isReadOnly());
        assertEquals(java.util.Arrays.hashCode(before), java.util.Arrays.hashCode(readAll()));
    }

    @Test
    void qemuFormsSpeedPauseResumeCancelAndErrors() throws Exception {
        chain("A.qcow2", "B.qcow2", "C.qcow2");
        start(BlockOptions.empty().with("file", dir.resolve("C.qcow2").toString()));
        assertEquals("No active jobs\n", hmp("info block-jobs"));
        assertEquals("Error: Can't find 'C.qcow2' in the backing chain\n", hmp("block_stream virtio0 0 C.qcow2"));
        assertEquals("Error: Cannot find device='nosuch' nor node-name='nosuch'\n", hmp("block_stream nosuch"));
        assertEquals("invalid size\nTry \"help block_stream\" for more information\n", hmp("block_stream virtio0 -1 A.qcow2"));
        assertEquals("block_stream: extraneous characters at the end of line\nTry \"help block_stream\" for more information\n",
                hmp("block_stream virtio0 1kx"));
        assertEquals("", hmp("block_stream virtio0 1k"));
        String line = hmp("info block-jobs");
        assertTrue(line.matches("Streaming device virtio0: Completed \\d+ of 67108864 bytes, speed limit 1024 bytes/s\n"), line);
        assertEquals("Error: Node 'virtio0' is busy: block device is in use by block job: stream\n", hmp("block_stream virtio0"));
        assertEquals("invalid size\nTry \"help block_job_set_speed\" for more information\n", hmp("block_job_set_speed virtio0 -1"));
        assertEquals("", hmp("block_job_set_speed virtio0 2048b"));
        assertTrue(hmp("info block-jobs").endsWith("speed limit 2048 bytes/s\n"));
        assertEquals("Error: Block job 'nosuch' not found\n", hmp("block_job_set_speed nosuch 1k"));
        assertEquals("", hmp("block_job_pause virtio0"));
        assertEquals("Error: Job is already paused\n", hmp("block_job_pause virtio0"));
        assertEquals("Error: The block job for device 'virtio0' is currently paused\n", hmp("block_job_cancel virtio0"));
        assertEquals("", hmp("block_job_resume virtio0"));
        assertEquals("Error: Can't resume a job that was not paused\n", hmp("block_job_resume virtio0"));
        assertEquals("Error: Job 'virtio0' in state 'running' cannot accept command verb 'complete'\n", hmp("block_job_complete virtio0"));
        assertEquals("block_job_cancel: unsupported option -x\nTry \"help block_job_cancel\" for more information\n",
                hmp("block_job_cancel -x virtio0"));

        JsonNode q = qmp("query-block-jobs", null);
        assertEquals(1, q.size());
        assertEquals("virtio0", q.get(0).get("device").asText());
        assertEquals("running", q.get(0).get("status").asText());
        JsonNode jobsList = qmp("query-jobs", null);
        assertEquals("stream", jobsList.get(0).get("type").asText());
        CommandException e = assertThrows(CommandException.class, () -> qmp("block-job-pause", obj("device", "nosuch")));
        assertEquals(ErrorClass.DeviceNotActive, e.errorClass());
        e = assertThrows(CommandException.class, () -> qmp("job-pause", obj("id", "nosuch")));
        assertEquals(ErrorClass.GenericError, e.errorClass());
        assertEquals("Job not found", e.desc());

        assertEquals("", hmp("block_job_cancel virtio0"));
        awaitNoJobs();
        assertEquals("Error: Block job 'virtio0' not found\n", hmp("block_job_cancel virtio0"));
        assertTrue(events.contains("BLOCK_JOB_CANCELLED"), events.toString());
        assertEquals("B.qcow2", machine.graph().backend("virtio0").root().backingFileName(), "cancel leaves the chain");

        String auto = machine.graph().backend("virtio0").root().nodeName();
        assertEquals("Error: Invalid job ID '" + auto + "'\n", hmp("block_stream " + auto));
        assertEquals("", hmp("block_stream virtio0 512k " + dir.resolve("B.qcow2")));   // base already the direct backing
        awaitNoJobs();
        assertEquals("", hmp("block_stream virtio0 0 A.qcow2"));
        awaitNoJobs();
        assertEquals(dir.resolve("A.qcow2").toString(), machine.graph().backend("virtio0").root().backingFileName());
        assertEquals("Error: Can't find '" + dir.resolve("B.qcow2") + "' in the backing chain\n", hmp("block_stream virtio0 0 " + dir.resolve("B.qcow2")));
    }

    @Test
    void qmpStreamWithManualFinalizeAndNegativeSpeed() throws Exception {
        chain("A.qcow2", "B.qcow2");
        start(BlockOptions.empty().with("file", dir.resolve("B.qcow2").toString()));
        CommandException e = assertThrows(CommandException.class, () -> qmp("block-stream", obj("device", "virtio0").put("speed", -1)));
        assertEquals("Parameter 'speed' expects a non-negative value", e.desc());
        assertEquals(List.of("JOB_STATUS_CHANGE created", "JOB_STATUS_CHANGE null"), events);
        e = assertThrows(CommandException.class, () -> qmp("block-stream", obj("device", "virtio0").put("on-error", "bogus")));
        assertEquals("Parameter 'on-error' does not accept value 'bogus'", e.desc());
        qmp("block-stream", obj("device", "virtio0").put("job-id", "s3").put("auto-finalize", false).put("auto-dismiss", false));
        JobManager jobs = machine.jobs();
        assertTrue(jobs.find("s3").awaitStatus(dev.strata.jobs.JobStatus.PENDING, java.time.Duration.ofSeconds(60)));
        assertTrue(events.contains("BLOCK_JOB_PENDING"));
        qmp("block-job-finalize", obj("id", "s3"));
        assertEquals("Streaming device s3: Completed 67108864 of 67108864 bytes, speed limit 0 bytes/s\n", hmp("info block-jobs"));
        assertEquals("concluded", qmp("query-jobs", null).get(0).get("status").asText());
        assertEquals("Error: Node 'virtio0' is busy: block device is in use by block job: stream\n", hmp("block_stream virtio0"));
        qmp("job-dismiss", obj("id", "s3"));
        assertEquals("No active jobs\n", hmp("info block-jobs"));
        assertNull(machine.graph().backend("virtio0").root().backing());
    }

    private static ObjectNode obj(String k, String v) {
        ObjectNode o = Json.object();
        o.put(k, v);
        return o;
    }
}
