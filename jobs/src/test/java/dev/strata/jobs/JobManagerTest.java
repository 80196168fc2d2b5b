package dev.strata.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class JobManagerTest {

    private static final Duration T = Duration.ofSeconds(20);

    private final JobManager jobs = new JobManager();
    private final EventLog log = new EventLog();
    private BlockGraph graph;
    private BlockNode node;

    @BeforeEach
    void setUp() {
        jobs.addListener(log);
        graph = new BlockGraph();
        node = graph.open(BlockOptions.of(Map.of("driver", "null-co", "size", "1M", "node-name", "n0")));
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(10));
    }

    private ScriptedJob job(String id, int steps) {
        return new ScriptedJob(id, steps, false, true, true, List.of(node));
    }

    private void awaitGone(Job j) {
        assertTrue(j.awaitStatus(JobStatus.NULL, T), "job did not end: " + log.events());
    }

    @Test
    void runToCompletionInQemusOrder() {
        ScriptedJob j = jobs.start(job("s1", 3), 0);
        assertEquals("block device is in use by block job: stream", node.blocker());
        j.step(3);
        awaitGone(j);
        assertEquals(List.of("created", "running", "waiting", "pending", "COMPLETED", "concluded", "null"), log.events());
        assertTrue(j.prepared && j.cleaned && !j.aborted);
        assertNull(node.blocker());
        assertNull(jobs.find("s1"));
        BlockJobEvent done = log.lastCompletion();
        assertEquals(3, done.len());
        assertEquals(3, done.offset());
        jobs.start(job("s1", 0), 0);   // the ID is free again
    }

    @Test
    void jobIdRules() {
        assertEquals("Invalid job ID '1bad'", assertThrows(JobException.class, () -> jobs.start(job("1bad", 1), 0)).getMessage());
        assertEquals("Invalid job ID '#block135'", assertThrows(JobException.class, () -> jobs.start(job("#block135", 1), 0)).getMessage());
        assertEquals("Invalid job ID ''", assertThrows(JobException.class, () -> jobs.start(job("", 1), 0)).getMessage());
        jobs.start(job("a-b.c_1", 1), 0);
        assertEquals("Job ID 'a-b.c_1' already in use",
                assertThrows(JobException.class, () -> jobs.start(job("a-b.c_1", 1), 0)).getMessage());
        assertTrue(log.events().isEmpty() || log.events().get(0).equals("created"));
    }

    @Test
    void negativeSpeedCreatesThenNulls() {
        JobException e = assertThrows(JobException.class, () -> jobs.start(job("s1", 1), -1));
        assertEquals("Parameter 'speed' expects a non-negative value", e.getMessage());
        assertEquals(List.of("created", "null"), log.events());
        assertNull(jobs.find("s1"));
        assertNull(node.blocker());
    }

    @Test
    void unknownJobErrorClasses() {
        JobException e = assertThrows(JobException.class, () -> jobs.blockJob("nosuch"));
        assertEquals(JobException.Kind.BLOCK_JOB_NOT_FOUND, e.kind());
        assertEquals("Block job 'nosuch' not found", e.getMessage());
        e = assertThrows(JobException.class, () -> jobs.job("nosuch"));
        assertEquals(JobException.Kind.JOB_NOT_FOUND, e.kind());
        assertEquals("Job not found", e.getMessage());
    }

    @Test
    void pauseResumeAndTheirChecks() {
        ScriptedJob j = jobs.start(job("s1", 2), 0);
        assertEquals("Can't resume a job that was not paused",
                assertThrows(JobException.class, () -> jobs.resume(j)).getMessage());
        jobs.pause(j);
        assertTrue(log.await("paused", T));
        BlockJobInfo info = j.blockJobInfo();
        assertEquals(JobStatus.PAUSED, info.status());
        assertTrue(info.paused());
        assertEquals("Job is already paused", assertThrows(JobException.class, () -> jobs.pause(j)).getMessage());
        jobs.setSpeed(j, 4096);   // allowed while paused
        assertEquals(4096, j.speed());
        jobs.resume(j);
        assertTrue(log.await("running", 2, T));
        assertEquals("Job 's1' in state 'running' cannot accept command verb 'complete'",
                assertThrows(JobException.class, () -> jobs.complete(j)).getMessage());
        assertEquals("Parameter 'speed' expects a non-negative value",
                assertThrows(JobException.class, () -> jobs.setSpeed(j, -1)).getMessage());
        j.step(2);
        awaitGone(j);
        assertEquals(List.of("created", "running", "paused", "running", "waiting", "pending", "COMPLETED", "concluded", "null"),
                log.events());
    }

    @Test
    void blockJobCancelRefusesAUserPausedJobUnlessForced() {
        ScriptedJob j = jobs.start(job("s1", 5), 0);
        jobs.pause(j);
        assertTrue(log.await("paused", T));
        JobException e = assertThrows(JobException.class, () -> jobs.blockJobCancel(j, false));
        assertEquals("The block job for device 's1' is currently paused", e.getMessage());
        jobs.blockJobCancel(j, true);
        awaitGone(j);
        List<String> ev = log.events();
        assertEquals(List.of("aborting", "CANCELLED", "concluded", "null"), ev.subList(ev.size() - 4, ev.size()));
        assertTrue(j.aborted && !j.prepared && j.cleaned);
    }

    @Test
    void jobCancelAcceptsAPausedJob() {
        ScriptedJob j = jobs.start(job("s1", 5), 0);
        jobs.pause(j);
        assertTrue(log.await("paused", T));
        jobs.cancel(j);
        awaitGone(j);
        assertTrue(log.events().contains("CANCELLED"));
    }

    @Test
    void manualFinalizeAndDismiss() {
        ScriptedJob j = jobs.start(new ScriptedJob("s2", 1, false, false, false, List.of(node)), 0);
        assertEquals("Job 's2' in state 'running' cannot accept command verb 'finalize'",
                assertThrows(JobException.class, () -> jobs.finalizeJob(j)).getMessage());
        j.step(1);
        assertTrue(log.await("PENDING", T));
        assertEquals(JobStatus.PENDING, j.status());
        assertEquals("Job 's2' in state 'pending' cannot accept command verb 'dismiss'",
                assertThrows(JobException.class, () -> jobs.dismiss(j)).getMessage());
        assertFalse(j.prepared, "prepare waits for job-finalize");
        jobs.finalizeJob(j);
        assertEquals(JobStatus.CONCLUDED, j.status());
        assertTrue(j.prepared);
        // a concluded job keeps its ID and its blockers, and still answers queries
        assertEquals("Job ID 's2' already in use", assertThrows(JobException.class, () -> jobs.start(job("s2", 1), 0)).getMessage());
        assertEquals("block device is in use by block job: stream", node.blocker());
        assertEquals(JobStatus.CONCLUDED, jobs.queryBlockJobs().get(0).status());
        assertEquals("Job 's2' in state 'concluded' cannot accept command verb 'cancel'",
                assertThrows(JobException.class, () -> jobs.cancel(j)).getMessage());
        jobs.dismiss(j);
        assertEquals(List.of("created", "running", "waiting", "pending", "PENDING", "COMPLETED", "concluded", "null"), log.events());
        assertNull(node.blocker());
    }

    @Test
    void cancelWhilePendingAborts() {
        ScriptedJob j = jobs.start(new ScriptedJob("s2", 1, false, false, false, List.of(node)), 0);
        j.step(1);
        assertTrue(log.await("PENDING", T));
        jobs.cancel(j);
        assertEquals(JobStatus.CONCLUDED, j.status());
        assertEquals(List.of("created", "running", "waiting", "pending", "PENDING", "aborting", "CANCELLED", "concluded"), log.events());
        assertEquals("Operation canceled", jobs.queryJobs().get(0).error());
        BlockJobEvent c = log.lastCompletion();
        assertEquals(c.len(), c.offset());
        jobs.dismiss(j);
    }

    @Test
    void failureIsCompletedWithError() {
        ScriptedJob j = job("s1", 3);
        j.failAtStep = 1;
        jobs.start(j, 0);
        j.step(3);
        awaitGone(j);
        assertEquals(List.of("created", "running", "ERROR write report", "aborting", "COMPLETED Input/output error", "concluded", "null"),
                log.events());
    }

    @Test
    void onErrorStopPausesUntilResumed() {
        ScriptedJob j = new ScriptedJob("s1", 3, false, true, false, List.of(node));
        j.failAtStep = 1;
        j.failKind = BlockException.Kind.NO_SPACE;
        j.onError = OnError.ENOSPC;
        jobs.start(j, 0);
        j.step(1);
        j.step(1);
        assertTrue(log.await("paused", T));
        BlockJobInfo info = j.blockJobInfo();
        assertEquals(IoStatus.NOSPACE, info.ioStatus());
        assertTrue(j.isUserPaused());
        jobs.resume(j);
        assertEquals(IoStatus.OK, j.blockJobInfo().ioStatus());
        j.step(5);
        assertTrue(j.awaitStatus(JobStatus.CONCLUDED, T));
        assertEquals(List.of("created", "running", "ERROR write stop", "paused", "running", "waiting", "pending", "COMPLETED", "concluded"),
                log.events());
        assertEquals(3, j.offset());
        jobs.dismiss(j);
    }

    @Test
    void ignorePolicyCarriesOn() {
        ScriptedJob j = job("s1", 2);
        j.failAtStep = 0;
        j.onError = OnError.IGNORE;
        jobs.start(j, 0);
        j.step(2);
        awaitGone(j);
        assertEquals(List.of("created", "running", "ERROR write ignore", "waiting", "pending", "COMPLETED", "concluded", "null"),
                log.events());
    }

    @Test
    void readyJobCompleteSoftCancelForceCancel() {
        ScriptedJob m = jobs.start(new ScriptedJob("m1", 1, true, true, true, List.of(node)), 0);
        m.step(1);
        assertTrue(log.await("READY", T));
        assertTrue(m.blockJobInfo().ready());
        jobs.pause(m);
        assertTrue(log.await("standby", T));
        jobs.complete(m);   // accepted in standby, takes effect after resume
        jobs.resume(m);
        awaitGone(m);
        assertTrue(m.completedWithPivot);
        assertEquals(List.of("created", "running", "ready", "READY", "standby", "ready", "waiting", "pending", "COMPLETED", "concluded", "null"),
                log.events());

        log.clear();
        ScriptedJob soft = jobs.start(new ScriptedJob("m2", 1, true, true, true, List.of(node)), 0);
        soft.step(1);
        assertTrue(log.await("READY", T));
        jobs.blockJobCancel(soft, false);
        awaitGone(soft);
        assertFalse(soft.completedWithPivot);
        assertEquals(List.of("created", "running", "ready", "READY", "waiting", "pending", "COMPLETED", "concluded", "null"), log.events());

        log.clear();
        ScriptedJob hard = jobs.start(new ScriptedJob("m3", 1, true, true, true, List.of(node)), 0);
        hard.step(1);
        assertTrue(log.await("READY", T));
        jobs.blockJobCancel(hard, true);
        awaitGone(hard);
        assertEquals(List.of("created", "running", "ready", "READY", "aborting", "CANCELLED", "concluded", "null"), log.events());
    }

    @Test
    void completeAfterCancelRequestIsRefused() {
        ScriptedJob m = jobs.start(new ScriptedJob("m1", 1, true, true, false, List.of(node)), 0);
        m.step(1);
        assertTrue(log.await("READY", T));
        jobs.pause(m);
        assertTrue(log.await("standby", T));
        jobs.blockJobCancel(m, true);
        assertTrue(m.awaitStatus(JobStatus.CONCLUDED, T));
        jobs.dismiss(m);
        ScriptedJob s = jobs.start(job("s1", 1), 0);
        assertEquals("Job 's1' in state 'running' cannot accept command verb 'complete'",
                assertThrows(JobException.class, () -> jobs.complete(s)).getMessage());
        s.step(1);
        awaitGone(s);
    }

    @Test
    void drainPausesAndResumesWithoutAUserPause() {
        ScriptedJob j = jobs.start(job("s1", 2), 0);
        try (BlockNode.Drained d = node.drain()) {
            assertEquals(JobStatus.PAUSED, j.status(), "a drain waits for the job's pause point");
            assertFalse(j.isUserPaused());
            assertEquals("Can't resume a job that was not paused",
                    assertThrows(JobException.class, () -> jobs.resume(j)).getMessage());
        }
        assertTrue(log.await("running", 2, T));
        j.step(2);
        awaitGone(j);
        assertEquals(List.of("created", "running", "paused", "running", "waiting", "pending", "COMPLETED", "concluded", "null"),
                log.events());
    }

    @Test
    void busyNodesAndListingNewestFirst() {
        BlockNode other = graph.open(BlockOptions.of(Map.of("driver", "null-co", "size", "1M", "node-name", "n1")));
        ScriptedJob a = jobs.start(job("a", 1), 0);
        ScriptedJob b = jobs.start(new ScriptedJob("b", 1, false, true, true, List.of(other)), 1024);
        JobException e = assertThrows(JobException.class, () -> JobNodes.checkNotBusy(graph, node));
        assertEquals("Node 'n0' is busy: block device is in use by block job: stream", e.getMessage());
        assertEquals(JobException.Kind.BUSY, e.kind());
        List<BlockJobInfo> infos = jobs.queryBlockJobs();
        assertEquals(List.of("b", "a"), infos.stream().map(BlockJobInfo::device).toList());
        assertEquals(1024, infos.get(0).speed());
        assertEquals("stream", infos.get(0).type().qapiName());
        assertSame(a, jobs.blockJob("a"));
        a.step(1);
        b.step(1);
        awaitGone(a);
        awaitGone(b);
        assertTrue(jobs.queryJobs().isEmpty());
    }
}
