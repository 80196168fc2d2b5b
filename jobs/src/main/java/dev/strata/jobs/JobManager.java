package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The jobs of one machine: creation (ID rules), lookup, listing newest first, the user verbs
 * with QEMU's checks and messages, and the end-of-job sequence (waiting, pending, finalize,
 * concluded, dismissed) with its events.
 *
 * <p>The end of a job is one hand-off step, as in QEMU where the event, the op blocker release,
 * the dismissal and the graph change all happen in one main-loop step: the job's graph changes
 * ({@link Job#prepare}, {@link Job#abort}, {@link Job#clean}) are done first, then, under the
 * lock, its events are held back while the job concludes, is dismissed and lets go of its nodes,
 * and only then go out. So a client that has BLOCK_JOB_COMPLETED (or CANCELLED, or
 * JOB_STATUS_CHANGE concluded/null) can no longer see the job, its blockers or the graph before
 * the change, whichever monitor it asks next.
 *
 * <p>Thread safety: one {@code lock} (QEMU's job mutex) guards every job's state, the list and
 * {@code heldEvents}; {@code changed} is signalled on every state change, kick, pause and resume.
 * Events are sent to listeners while the lock is held so that they arrive in order. Verbs may be
 * called from any thread; job bodies run on their own threads.
 */
public final class JobManager {

    private static final Pattern JOB_ID = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]*");

    final ReentrantLock lock = new ReentrantLock();
    final Condition changed = lock.newCondition();
    private final List<Job> jobs = new ArrayList<>();
    private final List<JobEventListener> listeners = new CopyOnWriteArrayList<>();
    /** Events of a hand-off step in progress, sent when the step is done; null outside one. */
    private List<Consumer<JobEventListener>> heldEvents;

    public void addListener(JobEventListener listener) {
        listeners.add(listener);
    }

    public void removeListener(JobEventListener listener) {
        listeners.remove(listener);
    }

    void emit(Consumer<JobEventListener> event) {
        if (heldEvents != null) {
            heldEvents.add(event);
            return;
        }
        deliver(event);
    }

    private void deliver(Consumer<JobEventListener> event) {
        for (JobEventListener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                // a broken listener must not stop the job or the other listeners
            }
        }
    }

    /** QEMU's {@code id_wellformed}: a letter, then letters, digits, '-', '.', '_'. */
    public static boolean isWellFormedId(String id) {
        return id != null && JOB_ID.matcher(id).matches();
    }

    /** Validates the ID without creating anything (commands call it before touching the graph). */
    public void checkNewId(String id) {
        lock.lock();
        try {
            if (!isWellFormedId(id)) {
                throw JobException.generic("Invalid job ID '" + (id == null ? "" : id) + "'");
            }
            if (find(id) != null) {
                throw JobException.generic("Job ID '" + id + "' already in use");
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Registers and starts {@code job}: events {@code created}, {@code running}; its nodes get
     * the op blocker. A negative speed is refused after creation, as QEMU does ({@code created},
     * {@code null}, then the error).
     */
    public <J extends Job> J start(J job, long speed) {
        lock.lock();
        try {
            checkNewId(job.id());
            job.manager = this;
            jobs.add(job);
            job.state.transition(JobStatus.CREATED);
            if (speed < 0) {
                job.state.transition(JobStatus.NULL);
                jobs.remove(job);
                throw JobException.generic("Parameter 'speed' expects a non-negative value");
            }
            job.limiter.setSpeed(speed);
            job.claims.install();
            job.state.transition(JobStatus.RUNNING);
            job.markBusy();
            // a platform thread, like the copies: the OS schedules it even when the guest keeps
            // every virtual-thread carrier busy
            job.thread = Thread.ofPlatform().daemon().name("job-" + job.id()).unstarted(() -> runJob(job));
            job.thread.start();
            return job;
        } finally {
            lock.unlock();
        }
    }

    // ---- lookup and queries -------------------------------------------------------------------

    /** The job with this ID, or null. */
    public Job find(String id) {
        lock.lock();
        try {
            for (Job j : jobs) {
                if (j.id().equals(id)) {
                    return j;
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** For {@code block-job-*}: unknown -> DeviceNotActive {@code Block job 'x' not found}. */
    public Job blockJob(String id) {
        Job j = find(id);
        if (j == null) {
            throw new JobException(JobException.Kind.BLOCK_JOB_NOT_FOUND, "Block job '" + id + "' not found");
        }
        return j;
    }

    /** For {@code job-*}: unknown -> GenericError {@code Job not found}. */
    public Job job(String id) {
        Job j = find(id);
        if (j == null) {
            throw new JobException(JobException.Kind.JOB_NOT_FOUND, "Job not found");
        }
        return j;
    }

    /** Every job not yet dismissed, newest first. */
    public List<Job> jobsNewestFirst() {
        lock.lock();
        try {
            List<Job> l = new ArrayList<>(jobs);
            Collections.reverse(l);
            return l;
        } finally {
            lock.unlock();
        }
    }

    public List<BlockJobInfo> queryBlockJobs() {
        return jobsNewestFirst().stream().map(Job::blockJobInfo).toList();
    }

    public List<JobInfo> queryJobs() {
        return jobsNewestFirst().stream().map(Job::jobInfo).toList();
    }

    // ---- verbs ---------------------------------------------------------------------------------

    public void pause(Job job) {
        withLock(job::userPause);
    }

    public void resume(Job job) {
        withLock(job::userResume);
    }

    public void setSpeed(Job job, long speed) {
        withLock(() -> job.setSpeed(speed));
    }

    public void complete(Job job) {
        withLock(job::userComplete);
    }

    /** {@code job-cancel}: always forced, no paused check. */
    public void cancel(Job job) {
        cancel(job, true);
    }

    /** Cancel with an explicit force flag (no paused check). */
    public void cancel(Job job, boolean force) {
        boolean abortNow;
        lock.lock();
        try {
            abortNow = job.userCancel(force);
        } finally {
            lock.unlock();
        }
        if (abortNow) {
            abortPath(job);
        }
    }

    /**
     * {@code block-job-cancel} / HMP {@code block_job_cancel}: refuses a user-paused job unless
     * forced (QEMU 7.2's extra check), then cancels.
     */
    public void blockJobCancel(Job job, boolean force) {
        lock.lock();
        try {
            if (job.isUserPaused() && !force) {
                throw new JobException(JobException.Kind.INVALID_STATE, "The block job for device '" + job.id() + "' is currently paused");
            }
        } finally {
            lock.unlock();
        }
        cancel(job, force);
    }

    /** {@code job-finalize}: runs the pending job's graph changes and concludes it. */
    public void finalizeJob(Job job) {
        lock.lock();
        try {
            job.state.checkVerb(JobVerb.FINALIZE);
            if (job.isFinalizing()) {
                return;
            }
            job.markFinalizing();
        } finally {
            lock.unlock();
        }
        finalizeNow(job);
    }

    /** {@code job-dismiss}: forgets a concluded job, freeing its ID and its nodes. */
    public void dismiss(Job job) {
        lock.lock();
        try {
            job.state.checkVerb(JobVerb.DISMISS);
            handOff(() -> dismissLocked(job));
        } finally {
            lock.unlock();
        }
    }

    /** Force-cancels every job and waits (bounded) for them to end; used on quit. */
    public void cancelAll(java.time.Duration timeout) {
        for (Job j : jobsNewestFirst()) {
            try {
                lock.lock();
                try {
                    if (j.state.status() == JobStatus.CONCLUDED) {
                        handOff(() -> dismissLocked(j));
                        continue;
                    }
                } finally {
                    lock.unlock();
                }
                cancel(j, true);
            } catch (JobException e) {
                // already finishing
            }
        }
        for (Job j : jobsNewestFirst()) {
            j.awaitEnded(timeout);
        }
    }

    // ---- the end of a job --------------------------------------------------------------------

    private void runJob(Job job) {
        String failure = null;
        try {
            job.run();
        } catch (BlockException e) {
            failure = e.kind() == BlockException.Kind.INVALID_ARGUMENT || e.kind() == BlockException.Kind.UNSUPPORTED
                    ? e.getMessage() : e.kind().strerror();
        } catch (JobException e) {
            failure = e.getMessage();
        } catch (RuntimeException | Error e) {
            failure = e.getMessage() != null ? e.getMessage() : e.toString();
        }
        boolean success;
        lock.lock();
        try {
            job.markDeferred();
            if (failure == null && job.forceCancelled()) {
                failure = BlockException.Kind.CANCELLED.strerror();
            }
            success = failure == null;
            if (success) {
                job.state.transition(JobStatus.WAITING);
                job.state.transition(JobStatus.PENDING);
                if (job.autoFinalize()) {
                    job.markFinalizing();
                } else {
                    emit(l -> l.blockJobPending(job.type(), job.id()));
                }
            } else {
                job.setError(failure);
                job.state.transition(JobStatus.ABORTING);
                job.markFinalizing();
            }
        } finally {
            lock.unlock();
        }
        if (!success) {
            abortPath(job);
        } else if (job.autoFinalize()) {
            finalizeNow(job);
        }
    }

    private void finalizeNow(Job job) {
        String failure = null;
        try {
            job.prepare();
        } catch (RuntimeException e) {
            failure = e.getMessage() != null ? e.getMessage() : e.toString();
        }
        if (failure != null) {
            String f = failure;
            withLock(() -> job.setError(f));
            abortPath(job);
            return;
        }
        runQuietly(job::clean);
        lock.lock();
        try {
            handOff(() -> {
                BlockJobEvent e = job.event();
                emit(l -> l.blockJobCompleted(e, null));
                concludeLocked(job);
            });
        } finally {
            lock.unlock();
        }
    }

    /** QEMU's abort path: aborting, the job's undo, CANCELLED or COMPLETED-with-error, concluded. */
    private void abortPath(Job job) {
        lock.lock();
        try {
            job.markFinalizing();
            if (job.error() == null) {
                job.setError(BlockException.Kind.CANCELLED.strerror());
            }
            job.state.transition(JobStatus.ABORTING);
        } finally {
            lock.unlock();
        }
        runQuietly(job::abort);
        runQuietly(job::clean);
        lock.lock();
        try {
            handOff(() -> {
                BlockJobEvent e = job.event();
                if (job.forceCancelled()) {
                    emit(l -> l.blockJobCancelled(e));
                } else {
                    String err = job.error();
                    emit(l -> l.blockJobCompleted(e, err));
                }
                concludeLocked(job);
            });
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs {@code step} (with the lock held) as one hand-off: the events it emits reach the
     * listeners only after all of it is done, in the order emitted.
     */
    private void handOff(Runnable step) {
        List<Consumer<JobEventListener>> held = new ArrayList<>();
        heldEvents = held;
        try {
            step.run();
        } finally {
            heldEvents = null;
            held.forEach(this::deliver);
        }
    }

    private void concludeLocked(Job job) {
        job.state.transition(JobStatus.CONCLUDED);
        if (job.autoDismiss()) {
            dismissLocked(job);
        }
    }

    private void dismissLocked(Job job) {
        job.state.transition(JobStatus.NULL);
        jobs.remove(job);
        job.claims.remove();
        changed.signalAll();
    }

    private static void runQuietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            // undo and clean-up are best effort: the job's outcome is already decided
        }
    }

    private void withLock(Runnable r) {
        lock.lock();
        try {
            r.run();
        } finally {
            lock.unlock();
        }
    }
}
