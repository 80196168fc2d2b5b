package dev.strata.jobs;

import java.time.Duration;
import java.util.Set;

/**
 * A job's status and its moves through QEMU's transition table ({@link JobTables}): each move is
 * checked against the table, announced to the manager's listeners ({@code JOB_STATUS_CHANGE}) and
 * wakes everyone waiting on the manager's condition.
 *
 * <p>Threads: {@code status} is guarded by the owning {@link JobManager}'s lock; every method but
 * {@link #awaitAny} expects the caller to hold it, {@link #awaitAny} takes it.
 */
final class JobState {

    private final Job job;
    private JobStatus status = JobStatus.UNDEFINED;

    JobState(Job job) {
        this.job = job;
    }

    JobStatus status() {
        return status;
    }

    /** Fails with QEMU's message when the current status does not accept {@code verb}. */
    void checkVerb(JobVerb verb) {
        JobTables.checkVerb(job.id(), status, verb);
    }

    void transition(JobStatus to) {
        if (!JobTables.transitionAllowed(status, to)) {
            throw new IllegalStateException("job " + job.id() + ": illegal transition " + status.qapiName() + " -> " + to.qapiName());
        }
        boolean changed = status != to;
        status = to;
        if (changed) {
            job.manager.emit(l -> l.jobStatusChange(job.id(), to));
        }
        job.manager.changed.signalAll();
    }

    /** Waits until the status is one of {@code wanted}; false on timeout or interrupt. */
    boolean awaitAny(Set<JobStatus> wanted, Duration timeout) {
        JobManager m = job.manager;
        long deadline = System.nanoTime() + timeout.toNanos();
        m.lock.lock();
        try {
            while (!wanted.contains(status)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                m.changed.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            m.lock.unlock();
        }
    }
}
