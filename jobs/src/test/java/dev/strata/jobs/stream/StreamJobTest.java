package dev.strata.jobs.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;
import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import dev.strata.jobs.EventLog;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.testing.GuestWriters;
import dev.strata.jobs.testing.TestChain;
import dev.strata.jobs.testing.TestCowStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Stream over test-cow chains while guest writers run; the chain's model is the judge. */
@Timeout(120)
class StreamJobTest {

    private static final Duration T = Duration.ofSeconds(60);
    private static final long SIZE = 32L << 20;

    @TempDir
    Path dir;
    private final JobManager jobs = new JobManager();
    private final EventLog log = new EventLog();
    private TestChain chain;

    @BeforeEach
    void listen() {
        jobs.addListener(log);
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(20));
        if (chain != null) {
            chain.close();
        }
    }

    private StreamJob stream(String base, long speed) {
        return Stream.start(jobs, chain.graph, StreamRequest.of(null, "virtio0", base, speed));
    }

    private void assertIntact(GuestWriters w) throws InterruptedException {
        w.stop();
        assertTrue(w.errors.isEmpty(), "guest I/O failed: " + w.errors);
        assertEquals(0, w.mismatches.get(), "guest reads saw wrong data");
        assertTrue(w.writes.get() > 0);
        assertEquals(-1, chain.firstMismatch(), "drive content differs from the model");
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 5})
    void wholeChainWhileTheGuestWrites(int depth) throws Exception {
        chain = TestChain.build(dir, "test-cow", depth, SIZE, 0.4, depth);
        GuestWriters w = new GuestWriters(chain, 8, 0, SIZE, depth).start();
        StreamJob job = stream(null, 0);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertIntact(w);
        assertEquals(List.of("created", "running", "waiting", "pending", "COMPLETED", "concluded", "null"), log.events());
        assertEquals(SIZE, log.lastCompletion().len());
        assertEquals(SIZE, log.lastCompletion().offset());
        BlockNode top = chain.backend.root();
        assertNull(top.backing());
        assertNull(TestCowStore.backingName(chain.top()));
        assertEquals(-1, chain.firstMismatch());
        assertEquals(1, chain.graph.nodesNewestFirst().size() / 2, "the dropped layers left the graph");
        assertNull(top.blocker());
    }

    @Test
    void toABaseRewritesTheBackingPointer() throws Exception {
        chain = TestChain.build(dir, "test-cow", 4, SIZE, 0.3, 7);
        BlockNode l1 = chain.node(1);
        String l2name = chain.node(2).nodeName();
        GuestWriters w = new GuestWriters(chain, 4, 0, SIZE, 7).start();
        StreamJob job = stream("L1.test-cow", 0);   // the stored relative name matches
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertIntact(w);
        assertSame(l1, chain.backend.root().backing());
        assertEquals(chain.files.get(1).toAbsolutePath().toString(), TestCowStore.backingName(chain.top()));
        assertEquals("test-cow", TestCowStore.backingFormat(chain.top()));
        assertNull(chain.graph.node(l2name), "intermediate node dropped");
        assertNull(l1.blocker());
    }

    @Test
    void intermediateNodeLeavesTheLayersAboveAlone() throws Exception {
        // A <- B <- C <- D <- E: stream B..C into D ("block_stream node-D file-B")
        chain = TestChain.build(dir, "test-cow", 5, SIZE, 0.3, 11);
        BlockNode e = chain.backend.root();
        BlockNode d = chain.node(3);
        BlockNode b = chain.node(1);
        assertTrue(d.isReadOnly());
        GuestWriters w = new GuestWriters(chain, 4, 0, SIZE, 11).start();
        StreamJob job = Stream.start(jobs, chain.graph,
                StreamRequest.of(d.nodeName().startsWith("#") ? "node-D" : null, d.nodeName(), chain.files.get(1).toString(), 0));
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertIntact(w);
        assertSame(e, chain.backend.root());
        assertSame(d, e.backing(), "the layer above is untouched");
        assertSame(b, d.backing());
        assertTrue(d.isReadOnly(), "read-only again after the job");
        assertEquals(chain.files.get(1).toAbsolutePath().toString(), TestCowStore.backingName(chain.files.get(3)));
    }

    @Test
    void nothingToStreamCompletesWithLenZero() {
        chain = TestChain.build(dir, "test-cow", 3, SIZE, 0.2, 3);
        StreamJob job = stream(chain.files.get(1).toString(), 512 << 10);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertEquals(0, log.lastCompletion().len());
        assertEquals(0, log.lastCompletion().offset());
        assertEquals(List.of("created", "running", "waiting", "pending", "COMPLETED", "concluded", "null"), log.events());
    }

    @Test
    void badArgumentsUseQemusMessages() {
        chain = TestChain.build(dir, "test-cow", 3, SIZE, 0.2, 5);
        assertEquals("Can't find 'nosuch.img' in the backing chain",
                assertThrows(JobException.class, () -> stream("nosuch.img", 0)).getMessage());
        assertEquals("Can't find 'L2.test-cow' in the backing chain",
                assertThrows(JobException.class, () -> stream("L2.test-cow", 0)).getMessage(), "the top is not in its own backing chain");
        assertEquals("Cannot find device='nosuch' nor node-name='nosuch'", assertThrows(JobException.class,
                () -> Stream.start(jobs, chain.graph, StreamRequest.of(null, "nosuch", null, 0))).getMessage());
        assertEquals("backing file specified, but streaming the entire chain", assertThrows(JobException.class,
                () -> Stream.start(jobs, chain.graph, new StreamRequest(null, "virtio0", null, null, "x", null, 0, OnError.REPORT, true, true))).getMessage());
        assertEquals("'base' and 'base-node' cannot be specified at the same time", assertThrows(JobException.class,
                () -> Stream.start(jobs, chain.graph, new StreamRequest(null, "virtio0", "a", "b", null, null, 0, OnError.REPORT, true, true))).getMessage());
        assertEquals("Cannot find device='' nor node-name='nosuch'", assertThrows(JobException.class,
                () -> Stream.start(jobs, chain.graph, new StreamRequest(null, "virtio0", null, "nosuch", null, null, 0, OnError.REPORT, true, true))).getMessage());
        String mid = chain.node(1).nodeName();
        assertEquals("Invalid job ID ''", assertThrows(JobException.class,
                () -> Stream.start(jobs, chain.graph, StreamRequest.of(null, mid, null, 0))).getMessage(), "a node without a drive needs a job ID");
        assertEquals("Invalid job ID '#block135'", assertThrows(JobException.class,
                () -> Stream.start(jobs, chain.graph, StreamRequest.of("#block135", "virtio0", null, 0))).getMessage());
        StreamJob job = stream(null, 1024);
        assertEquals("Node 'virtio0' is busy: block device is in use by block job: stream",
                assertThrows(JobException.class, () -> stream(null, 0)).getMessage());
        assertEquals("Node '" + mid + "' is busy: block device is in use by block job: stream", assertThrows(JobException.class,
                () -> Stream.start(jobs, chain.graph, StreamRequest.of("other", mid, null, 0))).getMessage());
        jobs.blockJobCancel(job, false);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
    }

    @Test
    void speedPauseResumeAndCancelLeaveTheChainAsItWas() throws Exception {
        chain = TestChain.build(dir, "test-cow", 3, SIZE, 0.5, 13);
        BlockNode oldBacking = chain.backend.root().backing();
        GuestWriters w = new GuestWriters(chain, 4, SIZE - (2 << 20), SIZE, 13).start();
        StreamJob job = stream(null, 256 << 10);
        long deadline = System.nanoTime() + T.toNanos();
        while (job.offset() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(job.offset() > 0, "a limited stream still makes progress");
        assertTrue(job.offset() < SIZE, "256 KiB/s cannot have finished 32 MiB yet");
        jobs.pause(job);
        assertTrue(log.await("paused", T));
        long paused = job.offset();
        Thread.sleep(300);
        assertEquals(paused, job.offset(), "no progress while paused");
        jobs.setSpeed(job, 512 << 10);
        jobs.resume(job);
        assertTrue(log.await("running", 2, T));
        Thread.sleep(200);
        jobs.blockJobCancel(job, false);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertIntact(w);
        List<String> ev = log.events();
        assertEquals(List.of("aborting", "CANCELLED", "concluded", "null"), ev.subList(ev.size() - 4, ev.size()));
        assertSame(oldBacking, chain.backend.root().backing(), "cancel leaves the chain as it was");
        assertEquals("L1.test-cow", TestCowStore.backingName(chain.top()));
        assertNull(chain.backend.root().blocker());
    }

    @Test
    void drainsOfTheTargetGiveAPausedRunningPair() throws Exception {
        chain = TestChain.build(dir, "test-cow", 3, SIZE, 0.5, 17);
        StreamJob job = stream(null, 64 << 10);
        try (BlockNode.Drained d = chain.backend.root().drain()) {
            assertEquals(JobStatus.PAUSED, job.status());
        }
        assertTrue(log.await("running", 2, T));
        jobs.cancel(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        assertEquals(List.of("created", "running", "paused", "running", "aborting", "CANCELLED", "concluded", "null"), log.events());
    }

    /** Opens the chain with a fault-injection filter under the middle layer's data. */
    private FaultInjectionDriver faultyMiddle(int seed) {
        chain = TestChain.build(dir, "test-cow", 3, SIZE, 0.6, seed);
        chain.open(BlockOptions.of(Map.of("driver", "test-cow", "file", chain.top().toString(),
                "backing.driver", "test-cow", "backing.file.driver", "fault-injection",
                "backing.file.file.filename", chain.files.get(1).toString())));
        return (FaultInjectionDriver) chain.backend.root().backing().file().driver();
    }

    @Test
    void readErrorWithReportFailsTheJobAndKeepsTheChain() throws Exception {
        FaultInjectionDriver fault = faultyMiddle(19);
        fault.inject(new FaultRule(FaultRule.Op.READ, 0, SIZE / 2, BlockException.Kind.IO, -1));
        GuestWriters w = new GuestWriters(chain, 4, SIZE / 2, SIZE, 19).start();
        BlockNode oldBacking = chain.backend.root().backing();
        StreamJob job = stream(null, 0);
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        fault.clear();
        assertIntact(w);
        List<String> ev = log.events();
        assertTrue(ev.contains("ERROR read report"), ev.toString());
        assertEquals(List.of("aborting", "COMPLETED Input/output error", "concluded", "null"), ev.subList(ev.size() - 4, ev.size()));
        assertSame(oldBacking, chain.backend.root().backing());
    }

    @Test
    void readErrorWithStopPausesThenFinishesAfterResume() throws Exception {
        FaultInjectionDriver fault = faultyMiddle(23);
        fault.inject(new FaultRule(FaultRule.Op.READ, 0, SIZE / 2, BlockException.Kind.IO, -1));
        GuestWriters w = new GuestWriters(chain, 4, SIZE / 2, SIZE, 23).start();
        StreamJob job = Stream.start(jobs, chain.graph,
                new StreamRequest("s1", "virtio0", null, null, null, null, 0, OnError.STOP, true, true));
        assertTrue(log.await("paused", T), log.events().toString());
        assertTrue(log.events().contains("ERROR read stop"));
        assertEquals(IoStatus.FAILED, job.blockJobInfo().ioStatus());
        assertTrue(job.isUserPaused());
        fault.clear();
        jobs.resume(job);
        assertTrue(job.awaitStatus(JobStatus.NULL, T), log.events().toString());
        assertIntact(w);
        assertTrue(log.events().contains("COMPLETED"), log.events().toString());
        assertNull(chain.backend.root().backing());
    }

    @Test
    void readErrorWithIgnoreFinishesWithAnError() throws Exception {
        FaultInjectionDriver fault = faultyMiddle(29);
        fault.inject(new FaultRule(FaultRule.Op.READ, 0, 1 << 20, BlockException.Kind.IO, 1));
        BlockNode oldBacking = chain.backend.root().backing();
        StreamJob job = Stream.start(jobs, chain.graph,
                new StreamRequest("s1", "virtio0", null, null, null, null, 0, OnError.IGNORE, true, true));
        assertTrue(job.awaitStatus(JobStatus.NULL, T));
        List<String> ev = log.events();
        assertTrue(ev.contains("ERROR read ignore"), ev.toString());
        assertEquals("COMPLETED Input/output error", ev.get(ev.size() - 3));
        assertSame(oldBacking, chain.backend.root().backing());
        assertEquals(-1, chain.firstMismatch());
        assertNotNull(oldBacking);
    }
}
