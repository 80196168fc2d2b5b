package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One block job: QEMU's job state machine, user verbs, pause points, cancellation, rate
 * limiting, progress and error policy, written once so each job type only supplies its body
 * ({@link #run()}) and its graph changes ({@link #prepare()}, {@link #abort()}, {@link #clean()}).
 *
 * <p>Threads: the body runs on its own platform thread ({@link JobManager#start}); verbs come from monitor threads; drains
 * come from whoever drains a node the job uses. Every mutable field below is guarded by the
 * owning {@link JobManager}'s lock (it is set by {@link JobManager#start}); progress counters are
 * atomics so the body updates them without the lock. Hooks are called without the lock held,
 * because they drain nodes, and a drain may wait for another job to reach its pause point.
 */
public abstract class Job {

    private volatile JobFilter filter;

    /** How long a drain waits for the job to reach a pause point before going on regardless. */
    private static final long DRAIN_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final String id;
    private final JobType type;
    private final boolean autoFinalize;
    private final boolean autoDismiss;
    private final AtomicLong progressCurrent = new AtomicLong();
    private final AtomicLong progressTotal = new AtomicLong();
    final RateLimiter limiter = new RateLimiter();

    JobManager manager;
    Thread thread;
    JobStatus status = JobStatus.UNDEFINED;
    private int pauseCount;
    private int drainPauses;
    private boolean userPaused;
    private boolean atPausePoint;
    private JobStatus statusBeforePause;
    private boolean busy;
    private boolean kicked;
    private boolean cancelRequested;
    private boolean forceCancel;
    private boolean completeRequested;
    private boolean deferred;
    private boolean finalizing;
    private IoStatus ioStatus = IoStatus.OK;
    private String error;
    private final BlockNode.DrainListener drainListener = new BlockNode.DrainListener() {
        @Override
        public void drainBegin(BlockNode node) {
            onDrainBegin();
        }

        @Override
        public void drainEnd(BlockNode node) {
            onDrainEnd();
        }
    };

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
        return locked(() -> status);
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
        return locked(() -> userPaused);
    }

    /** The failure text once the job failed or was cancelled ({@code Operation canceled}), else null. */
    public final String error() {
        return locked(() -> error);
    }

    /** The {@code query-block-jobs} entry. */
    public final BlockJobInfo blockJobInfo() {
        return locked(() -> new BlockJobInfo(type, id, len(), offset(), busy, pauseCount > 0, limiter.speed(),
                ioStatus, status == JobStatus.READY || status == JobStatus.STANDBY, status, autoFinalize,
                autoDismiss, error));
    }

    /** The {@code query-jobs} entry. */
    public final JobInfo jobInfo() {
        return locked(() -> new JobInfo(id, type, status, offset(), len(), error));
    }

    /** Waits until the job is in {@code wanted} (tests, synchronous callers); false on timeout. */
    public final boolean awaitStatus(JobStatus wanted, Duration timeout) {
        return awaitAny(java.util.Set.of(wanted), timeout);
    }

    /** Waits until the job has concluded or been dismissed; false on timeout. */
    public final boolean awaitEnded(Duration timeout) {
        return awaitAny(java.util.Set.of(JobStatus.CONCLUDED, JobStatus.NULL), timeout);
    }

    private boolean awaitAny(java.util.Set<JobStatus> wanted, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        manager.lock.lock();
        try {
            while (!wanted.contains(status)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                manager.changed.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            manager.lock.unlock();
        }
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
        return locked(() -> cancelRequested && forceCancel);
    }

    /** Any cancellation request, soft (READY jobs: finish without pivot) or forced. */
    protected final boolean cancelRequested() {
        return locked(() -> cancelRequested);
    }

    /** Whether {@code complete} was accepted. */
    protected final boolean completeRequested() {
        return locked(() -> completeRequested);
    }

    /**
     * QEMU's pause point: if a pause is pending (user, error policy {@code stop}, or a drain) and
     * the job is not cancelled, moves to paused (standby when ready), waits for the resume, and
     * restores the previous state.
     */
    protected final void pausePoint() {
        if (!locked(() -> pauseCount > 0 && !(cancelRequested && forceCancel))) {
            return;
        }
        beforePause();
        manager.lock.lock();
        try {
            if (pauseCount == 0 || (cancelRequested && forceCancel)) {
                return;
            }
            statusBeforePause = status;
            transition(status == JobStatus.READY ? JobStatus.STANDBY : JobStatus.PAUSED);
            atPausePoint = true;
            busy = false;
            manager.changed.signalAll();
            while (atPausePoint) {
                manager.changed.awaitUninterruptibly();
            }
        } finally {
            manager.lock.unlock();
        }
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
        if (nanos > 0) {
            manager.lock.lock();
            try {
                kicked = false;
                busy = false;
                long left = nanos;
                while (left > 0 && !kicked && !(cancelRequested && forceCancel) && pauseCount == 0) {
                    left = manager.changed.awaitNanos(left);
                }
                busy = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                manager.lock.unlock();
            }
        }
        pausePoint();
    }

    /** Bytes per chunk for a rate-limited job: about one slice's quota, within [min, max]. */
    protected final int chunkFor(int min, int max) {
        long quota = limiter.sliceQuota();
        if (quota == 0) {
            return max;
        }
        long c = Math.max(min, Math.min(max, quota));
        return (int) (c / min * min);
    }

    /**
     * Applies the error policy to one failed request: emits BLOCK_JOB_ERROR and, for
     * {@code stop}, makes a user-visible pause (taken at the next pause point) and sets io-status.
     */
    protected final ErrorAction reportError(OnError policy, BlockException failure, IoOperation op) {
        manager.lock.lock();
        try {
            ErrorAction action = policy.actionFor(failure.kind());
            manager.emit(l -> l.blockJobError(id, op, action));
            if (action == ErrorAction.STOP) {
                if (!userPaused) {
                    pauseCount++;
                    userPaused = true;
                }
                if (ioStatus == IoStatus.OK) {
                    ioStatus = failure.kind() == BlockException.Kind.NO_SPACE ? IoStatus.NOSPACE : IoStatus.FAILED;
                }
            }
            return action;
        } finally {
            manager.lock.unlock();
        }
    }

    /** Moves a running job to ready and emits BLOCK_JOB_READY (mirror, active commit). */
    protected final void transitionToReady() {
        manager.lock.lock();
        try {
            if (status == JobStatus.RUNNING) {
                transition(JobStatus.READY);
                BlockJobEvent e = event();
                manager.emit(l -> l.blockJobReady(e));
            }
        } finally {
            manager.lock.unlock();
        }
    }

    // ---- verbs (monitor threads) ----------------------------------------------------------

    void userPause() {
        JobTables.checkVerb(id, status, JobVerb.PAUSE);
        if (userPaused) {
            throw JobException.generic("Job is already paused");
        }
        userPaused = true;
        pauseCount++;
        kick();
    }

    void userResume() {
        if (!userPaused) {
            throw JobException.generic("Can't resume a job that was not paused");
        }
        JobTables.checkVerb(id, status, JobVerb.RESUME);
        ioStatus = IoStatus.OK;
        userPaused = false;
        pauseCount--;
        kick();
    }

    void setSpeed(long speed) {
        JobTables.checkVerb(id, status, JobVerb.SET_SPEED);
        if (speed < 0) {
            throw JobException.generic("Parameter 'speed' expects a non-negative value");
        }
        long old = limiter.speed();
        limiter.setSpeed(speed);
        // a lower limit can wait for the current sleep to end; a higher one (or none) applies now
        if (speed == 0 || old == 0 || speed > old) {
            kick();
        }
    }

    /** Returns true when the caller must run the abort path now (a finished job was force-cancelled). */
    boolean userCancel(boolean force) {
        JobTables.checkVerb(id, status, JobVerb.CANCEL);
        boolean forced = cancelIsForced(force);
        if (userPaused) {
            userPaused = false;
            pauseCount--;
        }
        // a soft cancel of a job whose work is already done is ignored, as in QEMU
        if (forced || !deferred) {
            cancelRequested = true;
            forceCancel |= forced;
        }
        kick();
        return deferred && !finalizing && cancelRequested && forceCancel
                && (status == JobStatus.WAITING || status == JobStatus.PENDING);
    }

    void userComplete() {
        JobTables.checkVerb(id, status, JobVerb.COMPLETE);
        if (cancelRequested || !supportsComplete()) {
            throw JobException.generic("The active block job '" + id + "' cannot be completed");
        }
        completeRequested = true;
        kick();
    }

    // ---- lifecycle (package) ---------------------------------------------------------------

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
        busy = false;
    }

    void markBusy() {
        busy = true;
    }

    BlockJobEvent event() {
        return new BlockJobEvent(type, id, len(), offset(), limiter.speed());
    }

    void transition(JobStatus to) {
        if (!JobTables.transitionAllowed(status, to)) {
            throw new IllegalStateException("job " + id + ": illegal transition " + status.qapiName() + " -> " + to.qapiName());
        }
        boolean changed = status != to;
        status = to;
        if (changed) {
            manager.emit(l -> l.jobStatusChange(id, to));
        }
        manager.changed.signalAll();
    }

    void installBlockers() {
        for (BlockNode n : nodes()) {
            n.setBlocker(blockerReason());
            n.addDrainListener(drainListener);
        }
        JobFilter f = filter;
        if (f != null) {
            f.show();
        }
    }

    /**
     * The filter node QEMU shows for this job ({@link dev.strata.blockdrv.ImplicitFilter}), above {@code child};
     * given by the job's starter before {@link JobManager#start}, shown from then until the job
     * lets go of its nodes ({@link #hideFilter()}, called first thing in {@link #clean()}).
     */
    public final void showsFilter(BlockGraph graph, String driver, BlockNode child) {
        filter = new JobFilter(graph, driver, child);
    }

    /** Takes the job's filter out of the listings, as QEMU removes its filter node when the job finishes. */
    protected final void hideFilter() {
        JobFilter f = filter;
        if (f != null) {
            f.hide();
        }
    }

    void removeBlockers() {
        hideFilter();
        for (BlockNode n : nodes()) {
            if (blockerReason().equals(n.blocker())) {
                n.setBlocker(null);
            }
            n.removeDrainListener(drainListener);
        }
    }

    private void kick() {
        kicked = true;
        if (atPausePoint && (pauseCount == 0 || (cancelRequested && forceCancel))) {
            // leave the pause now, on the resumer's thread, so the state is right when the verb returns
            atPausePoint = false;
            busy = true;
            transition(statusBeforePause);
        }
        manager.changed.signalAll();
    }

    private void onDrainBegin() {
        manager.lock.lock();
        try {
            if (deferred || thread == null) {
                return;
            }
            drainPauses++;
            pauseCount++;
            kick();
            if (Thread.currentThread() == thread) {
                return;
            }
            // QEMU's drain waits for the job to settle at a pause point; bounded so a drain never hangs
            long left = DRAIN_WAIT_NANOS;
            while (!atPausePoint && !deferred && !(cancelRequested && forceCancel) && thread.isAlive() && left > 0) {
                left = manager.changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            manager.lock.unlock();
        }
    }

    private void onDrainEnd() {
        manager.lock.lock();
        try {
            if (drainPauses > 0) {
                drainPauses--;
                pauseCount--;
                kick();
            }
        } finally {
            manager.lock.unlock();
        }
    }

    private <T> T locked(java.util.function.Supplier<T> s) {
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
