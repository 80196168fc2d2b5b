package dev.strata.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a listener can see at the moment each end-of-job event reaches it: the job must already be
 * gone from the list (or concluded, for JOB_STATUS_CHANGE concluded) and its op blockers released,
 * because a client acts on the event at once. The listener looks synchronously, so the test is
 * deterministic: before the hand-off step existed, every one of these saw the blocker still set.
 */
@Timeout(60)
class JobHandOffOrderTest {

    private static final Duration T = Duration.ofSeconds(20);

    private final JobManager jobs = new JobManager();
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private BlockNode node;

    @BeforeEach
    void setUp() {
        node = new BlockGraph().open(BlockOptions.of(Map.of("driver", "null-co", "size", "1M", "node-name", "n0")));
        jobs.addListener(new JobEventListener() {
            @Override
            public void jobStatusChange(String id, JobStatus status) {
                if (status == JobStatus.CONCLUDED || status == JobStatus.NULL) {
                    look(status.qapiName(), id);
                }
            }

            @Override
            public void blockJobCompleted(BlockJobEvent info, String error) {
                look("COMPLETED", info.device());
            }

            @Override
            public void blockJobCancelled(BlockJobEvent info) {
                look("CANCELLED", info.device());
            }

            @Override
            public void blockJobReady(BlockJobEvent info) {
                seen.add("READY ready=" + jobs.find(info.device()).blockJobInfo().ready());
            }
        });
    }

    private void look(String event, String id) {
        Job j = jobs.find(id);
        seen.add(event + " job=" + (j == null ? "gone" : j.status().qapiName()) + " blocker=" + node.blocker());
    }

    @AfterEach
    void tearDown() {
        jobs.cancelAll(Duration.ofSeconds(10));
    }

    @Test
    void completedJobIsGoneWithItsBlockersWhenEveryEndEventArrives() {
        ScriptedJob j = jobs.start(new ScriptedJob("s1", 1, false, true, true, List.of(node)), 0);
        j.step(1);
        assertTrue(j.awaitStatus(JobStatus.NULL, T));
        assertEquals(List.of("COMPLETED job=gone blocker=null", "concluded job=gone blocker=null", "null job=gone blocker=null"), seen);
    }

    @Test
    void forceCancelledReadyJobToo() {
        ScriptedJob j = jobs.start(new ScriptedJob("m1", 1, true, true, true, List.of(node)), 0);
        j.step(1);
        assertTrue(j.awaitStatus(JobStatus.READY, T));
        jobs.cancel(j, true);
        assertTrue(j.awaitStatus(JobStatus.NULL, T));
        assertEquals(List.of("READY ready=true", "CANCELLED job=gone blocker=null", "concluded job=gone blocker=null",
                "null job=gone blocker=null"), seen);
    }

    @Test
    void withoutAutoDismissTheJobStaysConcludedUntilDismissedThenGoesWithItsBlockers() {
        ScriptedJob j = jobs.start(new ScriptedJob("s2", 1, false, true, false, List.of(node)), 0);
        j.step(1);
        assertTrue(j.awaitStatus(JobStatus.CONCLUDED, T));
        String blocker = "block device is in use by block job: stream";
        assertEquals(List.of("COMPLETED job=concluded blocker=" + blocker, "concluded job=concluded blocker=" + blocker), seen);
        jobs.dismiss(j);
        assertEquals("null job=gone blocker=null", seen.get(2));
    }
}
