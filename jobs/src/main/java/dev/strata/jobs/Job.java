package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.OnError;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * One block job, written once so each job type only supplies its body ({@link #run()}) and its
 * graph changes ({@link #prepare()}, {@link #abort()}, {@link #clean()}). The parts: its status
 * and QEMU's transition table ({@link JobState}), pauses, drains and the body's sleeps
 * ({@link JobPauses}), the speed limit ({@link RateLimiter}), what it holds on its nodes
 * ({@link JobClaims}); here are the verbs, the cancel/complete requests, progress and the views.
 *
 * <p>Threads: the body runs on its own platform thread ({@link JobManager#start}); verbs come from
 * monitor threads; drains come from whoever drains a node the job uses. Every mutable field here
 * and in the parts is guarded by the owning {@link JobManager}'s lock (set by
 * {@link JobManager#start}); progress counters are atomics so the body updates them without the
 * lock. Hooks are called without the lock held, because they drain nodes, and a drain may wait for
 * another job to reach its pause point.
 */
public abstract class Job {

    private final String id;
    private final JobType type;
    private final boolean autoFinalize;
    private final boolean autoDismiss;
    private final AtomicLong progressCurrent = new AtomicLong();
    private final AtomicLong progressTotal = new AtomicLong();
    final RateLimiter limiter = new RateLimiter();
    final JobState state = new JobState(this);
    final JobPauses pauses = new JobPauses(this);
    final JobClaims claims = new JobClaims(this);

    JobManager manager;
    Thread thread;
    private boolean cancelRequested;
    private boolean forceCancel;
    private boolean completeRequested;
    private boolean deferred;
    private boolean finalizing;
    private String error;

    protected Job(String id, JobType type, boolean autoFinalize, boolean autoDismiss) {
        this.id = id;
        this.type = type;
        this.autoFinalize = autoFinalize;
        this.autoDismiss = autoDismiss;
    }

    // ---- what a job type supplies ----------------------------------------------------------

    /**
     * The work, on the job's own (platform) thread. Returns normally when done or when it saw a
     * cancellation ({@link #cancelRequested()}); throws {@link BlockException} (or any runtime
     * exception) to fail the job with that message.
     */
    protected abstract void run();

    /** Nodes the job uses: they get the op blocker and a drain listener until the job is dismissed. */
    protected abstract List<BlockNode> nodes();

    /** Graph changes on success (backing rewrite, pivot), in state pending; a failure fails the job. */
    protected void prepare() {
    }

    /** Undo on failure or cancellation (in state aborting). */
    protected void abort() {
    }

    /** Runs after prepare or abort, whatever the outcome (restore read-only flags and the like). */
    protected void clean() {
    }

    /** Called (outside the lock) when a pause is about to take effect, so in-flight work can settle first. */
    protected void beforePause() {
    }

    /** Whether {@code complete} means anything for this job (mirror, active commit). */
    protected boolean supportsComplete() {
        return false;
    }

    /** Whether a cancel with this {@code force} really cancels; jobs with READY override (soft cancel). */
    protected boolean cancelIsForced(boolean force) {
        return true;
    }

    /** The op blocker text, QEMU's {@code block device is in use by block job: <type>}. */
    public final String blockerReason() {
        return "block device is in use by block job: " + type.qapiName();
    }

    // ---- read-only view --------------------------------------------------------------------

    public final String id() {
        return id;
    }

    /**
     * The nodes the job works on, for display ({@code info chain}): stream's target and the layers
     * it copies, commit's top down to its base, mirror's and backup's source and target.
     */
    public final List<BlockNode> workingNodes() {
        return List.copyOf(nodes());
    }

    public final JobType type() {
        return type;
    }

    public final boolean autoFinalize() {
        return autoFinalize;
    }

    public final boolean autoDismiss() {
        return autoDismiss;
    }

    public final JobStatus status() {
        return locked(state::status);
    }

    public final long speed() {
        return limiter.speed();
    }

    public final long offset() {
        return progressCurrent.get();
    }

    public final long len() {
        return progressTotal.get();
    }

    public final boolean isUserPaused() {
        return locked(pauses::userPaused);
    }

    /** The failure text once the job failed or was cancelled ({@code Operation canceled}), else null. */
    public final String error() {
        return locked(() -> error);
    }

    /** The {@code query-block-jobs} entry. */
    public final BlockJobInfo blockJobInfo() {
        return locked(() -> {
            JobStatus s = state.status();
            return new BlockJobInfo(type, id, len(), offset(), pauses.busy(), pauses.pending(), limiter.speed(),
                    pauses.ioStatus(), s == JobStatus.READY || s == JobStatus.STANDBY, s, autoFinalize, autoDismiss, error);
        });
    }

    /** The {@code query-jobs} entry. */
    public final JobInfo jobInfo() {
        return locked(() -> new JobInfo(id, type, state.status(), offset(), len(), error));
    }

    /** Waits until the job is in {@code wanted} (tests, synchronous callers); false on timeout. */
    public final boolean awaitStatus(JobStatus wanted, Duration timeout) {
        return state.awaitAny(Set.of(wanted), timeout);
    }

    /** Waits until the job has concluded or been dismissed; false on timeout. */
    public final boolean awaitEnded(Duration timeout) {
        return state.awaitAny(Set.of(JobStatus.CONCLUDED, JobStatus.NULL), timeout);
    }

    // ---- helpers for the body (job thread) -------------------------------------------------

    protected final void setLen(long len) {
        progressTotal.set(len);
    }

    protected final void addLen(long bytes) {
        progressTotal.addAndGet(bytes);
    }

    protected final void addProgress(long bytes) {
        progressCurrent.addAndGet(bytes);
    }

    /** A real (forced) cancellation: the job must stop and will end as cancelled. */
    protected final boolean isCancelled() {
        return locked(this::forceCancelled);
    }

    /** Any cancellation request, soft (READY jobs: finish without pivot) or forced. */
    protected final boolean cancelRequested() {
        return locked(() -> cancelRequested);
    }

    /** Whether {@code complete} was accepted. */
    protected final boolean completeRequested() {
        return locked(() -> completeRequested);
    }

    /** QEMU's pause point (user pause, error policy {@code stop}, or a drain): see {@link JobPauses#pausePoint}. */
    protected final void pausePoint() {
        pauses.pausePoint();
    }

    /**
     * Accounts {@code bytes} against the speed limit and sleeps as long as it says; any kick
     * (speed raised, pause, cancel, drain) cuts the sleep short. Ends with a pause point.
     */
    protected final void rateLimit(long bytes) {
        sleep(limiter.consume(bytes));
    }

    /** Sleeps up to {@code nanos} (woken early by kicks), then passes a pause point. */
    protected final void sleep(long nanos) {
        pauses.sleep(nanos);
    }

    /** Bytes per chunk for a rate-limited job: about one slice's quota, within [min, max]. */
    protected final int chunkFor(int min, int max) {
        return limiter.chunkSize(min, max);
    }

    /**
     * Applies the error policy to one failed request: emits BLOCK_JOB_ERROR and, for
     * {@code stop}, makes a user-visible pause (taken at the next pause point) and sets io-status.
     */
    protected final ErrorAction reportError(OnError policy, BlockException failure, IoOperation op) {
        return locked(() -> {
            ErrorAction action = policy.actionFor(failure.kind());
            manager.emit(l -> l.blockJobError(id, op, action));
            if (action == ErrorAction.STOP) {
                pauses.stopOnError(failure.kind());
            }
            return action;
        });
    }

    /** Moves a running job to ready and emits BLOCK_JOB_READY (mirror, active commit). */
    protected final void transitionToReady() {
        locked(() -> {
            if (state.status() == JobStatus.RUNNING) {
                state.transition(JobStatus.READY);
                BlockJobEvent e = event();
                manager.emit(l -> l.blockJobReady(e));
            }
            return null;
        });
    }

    /**
     * The filter node QEMU shows for this job ({@link dev.strata.blockdrv.ImplicitFilter}), above {@code child};
     * given by the job's starter before {@link JobManager#start}, shown from then until the job
     * lets go of its nodes ({@link #hideFilter()}, called first thing in {@link #clean()}).
     */
    public final void showsFilter(BlockGraph graph, String driver, BlockNode child) {
        claims.showFilter(graph, driver, child);
    }

    /** Takes the job's filter out of the listings, as QEMU removes its filter node when the job finishes. */
    protected final void hideFilter() {
        claims.hideFilter();
    }

    // ---- verbs (monitor threads, manager lock held) ----------------------------------------

    void userPause() {
        state.checkVerb(JobVerb.PAUSE);
        if (pauses.userPaused()) {
            throw new JobException(JobException.Kind.INVALID_STATE, "Job is already paused");
        }
        pauses.userPause();
    }

    void userResume() {
        if (!pauses.userPaused()) {
            throw new JobException(JobException.Kind.INVALID_STATE, "Can't resume a job that was not paused");
        }
        state.checkVerb(JobVerb.RESUME);
        pauses.endUserPause(true);
        pauses.kick();
    }

    void setSpeed(long speed) {
        state.checkVerb(JobVerb.SET_SPEED);
        if (speed < 0) {
            throw JobException.generic("Parameter 'speed' expects a non-negative value");
        }
        long old = limiter.speed();
        limiter.setSpeed(speed);
        // a lower limit can wait for the current sleep to end; a higher one (or none) applies now
        if (speed == 0 || old == 0 || speed > old) {
            pauses.kick();
        }
    }

    /** Returns true when the caller must run the abort path now (a finished job was force-cancelled). */
    boolean userCancel(boolean force) {
        state.checkVerb(JobVerb.CANCEL);
        boolean forced = cancelIsForced(force);
        pauses.endUserPause(false);
        // a soft cancel of a job whose work is already done is ignored, as in QEMU
        if (forced || !deferred) {
            cancelRequested = true;
            forceCancel |= forced;
        }
        pauses.kick();
        JobStatus s = state.status();
        return deferred && !finalizing && forceCancelled() && (s == JobStatus.WAITING || s == JobStatus.PENDING);
    }

    void userComplete() {
        state.checkVerb(JobVerb.COMPLETE);
        if (cancelRequested || !supportsComplete()) {
            throw new JobException(JobException.Kind.INVALID_STATE, "The active block job '" + id + "' cannot be completed");
        }
        completeRequested = true;
        pauses.kick();
    }

    // ---- lifecycle (package, manager lock held) --------------------------------------------

    void setError(String text) {
        this.error = text;
    }

    void markFinalizing() {
        finalizing = true;
    }

    boolean isFinalizing() {
        return finalizing;
    }

    boolean forceCancelled() {
        return cancelRequested && forceCancel;
    }

    void markDeferred() {
        deferred = true;
        pauses.setBusy(false);
    }

    boolean isDeferred() {
        return deferred;
    }

    void markBusy() {
        pauses.setBusy(true);
    }

    BlockJobEvent event() {
        return new BlockJobEvent(type, id, len(), offset(), limiter.speed());
    }

    /** Runs {@code s} under the manager's lock (directly before the job is started). */
    <T> T locked(Supplier<T> s) {
        JobManager m = manager;
        if (m == null) {
            return s.get();
        }
        m.lock.lock();
        try {
            return s.get();
        } finally {
            m.lock.unlock();
        }
    }

    @Override
    public String toString() {
        return type.qapiName() + " job '" + id + "'";
    }
}
