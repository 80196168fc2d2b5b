package dev.strata.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** Both tables, every cell, against the reference's JobSTT and JobVerbTable (§4.1, §4.2). */
class JobTablesTest {

    private static final String LETTERS = "UCRPYSWDXEN";

    private static JobStatus s(char c) {
        return JobStatus.values()[LETTERS.indexOf(c)];
    }

    @Test
    void everyTransitionCellMatchesTheReference() {
        Set<String> allowed = Set.of("UC", "CR", "CX", "CN", "RP", "RY", "RW", "RX", "PR", "YS", "YW", "YX",
                "SY", "WD", "WX", "DX", "DE", "XX", "XE", "EN");
        int count = 0;
        for (char from : LETTERS.toCharArray()) {
            for (char to : LETTERS.toCharArray()) {
                boolean expected = allowed.contains("" + from + to);
                assertEquals(expected, JobTables.transitionAllowed(s(from), s(to)), from + "->" + to);
                count++;
            }
        }
        assertEquals(121, count);
    }

    @Test
    void everyVerbCellMatchesTheReference() {
        String[][] rows = {
            {"cancel", "CRPYSWD"},
            {"pause", "CRPYS"},
            {"resume", "CRPYS"},
            {"set-speed", "CRPYS"},
            {"complete", "YS"},
            {"dismiss", "E"},
            {"finalize", "D"},
        };
        assertEquals(JobVerb.values().length, rows.length);
        for (String[] row : rows) {
            JobVerb verb = java.util.Arrays.stream(JobVerb.values()).filter(v -> v.qapiName().equals(row[0])).findFirst().orElseThrow();
            for (char st : LETTERS.toCharArray()) {
                assertEquals(row[1].indexOf(st) >= 0, JobTables.verbAllowed(verb, s(st)), row[0] + " in " + st);
            }
        }
    }

    @Test
    void refusedVerbUsesQemusMessage() {
        JobException e = assertThrows(JobException.class,
                () -> JobTables.checkVerb("virtio0", JobStatus.RUNNING, JobVerb.COMPLETE));
        assertEquals("Job 'virtio0' in state 'running' cannot accept command verb 'complete'", e.getMessage());
        assertEquals(JobException.Kind.INVALID_STATE, e.kind());
        e = assertThrows(JobException.class, () -> JobTables.checkVerb("s1", JobStatus.PENDING, JobVerb.DISMISS));
        assertEquals("Job 's1' in state 'pending' cannot accept command verb 'dismiss'", e.getMessage());
        e = assertThrows(JobException.class, () -> JobTables.checkVerb("s1", JobStatus.CONCLUDED, JobVerb.SET_SPEED));
        assertEquals("Job 's1' in state 'concluded' cannot accept command verb 'set-speed'", e.getMessage());
    }

    @Test
    void qapiNames() {
        assertEquals("set-speed", JobVerb.SET_SPEED.qapiName());
        assertEquals("null", JobStatus.NULL.qapiName());
        assertEquals("standby", JobStatus.STANDBY.qapiName());
        assertEquals("stream", JobType.STREAM.qapiName());
    }
}
