package dev.strata.monitor.jobs;

import dev.strata.jobs.BlockJobEvent;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobEventListener;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The jobs of one {@code transaction} with {@code completion-mode: grouped}: when one of them fails
 * or is cancelled, the others are force-cancelled (QEMU aborts the whole job transaction). The
 * listener is called under the job manager's lock and must not call back into it, so the
 * cancellations run on a virtual thread. Unlike QEMU, a member that finishes successfully
 * concludes at once instead of waiting for the others (documented in docs/jobs.md).
 *
 * <p>Thread safety: {@link #live} and {@link #aborted} are guarded by {@link #lock}.
 */
final class JobGroup implements JobEventListener {

    private final JobManager jobs;
    private final List<Job> members;
    private final ReentrantLock lock = new ReentrantLock();
    private final Set<String> live = new HashSet<>();
    private boolean aborted;

    private JobGroup(JobManager jobs, List<Job> members) {
        this.jobs = jobs;
        this.members = List.copyOf(members);
        members.forEach(j -> live.add(j.id()));
    }

    static void watch(JobManager jobs, List<Job> members) {
        JobGroup g = new JobGroup(jobs, members);
        jobs.addListener(g);
        // a member may have failed before the listener was in place
        for (Job j : members) {
            if (j.status() == JobStatus.ABORTING || (j.status() == JobStatus.CONCLUDED && j.error() != null)) {
                g.abortOthers(j.id());
            }
        }
    }

    @Override
    public void blockJobCompleted(BlockJobEvent info, String error) {
        if (error != null) {
            abortOthers(info.device());
        }
        ended(info.device());
    }

    @Override
    public void blockJobCancelled(BlockJobEvent info) {
        abortOthers(info.device());
        ended(info.device());
    }

    private void ended(String id) {
        boolean last;
        lock.lock();
        try {
            last = live.remove(id) && live.isEmpty();
        } finally {
            lock.unlock();
        }
        if (last) {
            Thread.startVirtualThread(() -> jobs.removeListener(this));
        }
    }

    private void abortOthers(String failed) {
        lock.lock();
        try {
            if (aborted || !live.contains(failed)) {
                return;
            }
            aborted = true;
        } finally {
            lock.unlock();
        }
        Thread.startVirtualThread(() -> {
            for (Job j : members) {
                if (!j.id().equals(failed)) {
                    try {
                        jobs.cancel(j, true);
                    } catch (RuntimeException e) {
                        // that one has ended already
                    }
                }
            }
        });
    }
}
