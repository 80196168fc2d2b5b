package dev.strata.jobs;

/**
 * QEMU's two job tables ({@code JobSTT} and {@code JobVerbTable} in job.c), verbatim: which state
 * may follow which, and which verb each state accepts. Immutable; any thread.
 */
public final class JobTables {

    private JobTables() {
    }

    // Rows: from-state; columns: to-state, both in JobStatus order U C R P Y S W D X E N.
    private static final int[][] TRANSITIONS = {
        /* U */ {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        /* C */ {0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1},
        /* R */ {0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0},
        /* P */ {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        /* Y */ {0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0},
        /* S */ {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0},
        /* W */ {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0},
        /* D */ {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0},
        /* X */ {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0},
        /* E */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        /* N */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };

    // Rows: verbs in JobVerb order; columns: states U C R P Y S W D X E N.
    private static final int[][] VERBS = {
        /* cancel    */ {0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
        /* pause     */ {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
        /* resume    */ {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
        /* set-speed */ {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
        /* complete  */ {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0},
        /* dismiss   */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0},
        /* finalize  */ {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    };

    /** Whether {@code from -> to} is a legal transition. */
    public static boolean transitionAllowed(JobStatus from, JobStatus to) {
        return TRANSITIONS[from.ordinal()][to.ordinal()] == 1;
    }

    /** Whether a job in {@code state} accepts {@code verb}. */
    public static boolean verbAllowed(JobVerb verb, JobStatus state) {
        return VERBS[verb.ordinal()][state.ordinal()] == 1;
    }

    /**
     * Fails with QEMU's message when the verb is not allowed:
     * {@code Job 'X' in state 'S' cannot accept command verb 'V'}.
     */
    public static void checkVerb(String id, JobStatus state, JobVerb verb) {
        if (!verbAllowed(verb, state)) {
            throw new JobException(JobException.Kind.INVALID_STATE, "Job '" + id + "' in state '" + state.qapiName()
                    + "' cannot accept command verb '" + verb.qapiName() + "'");
        }
    }
}
