package dev.strata.monitor.jobs;

import dev.strata.jobs.JobManager;
import dev.strata.monitor.Machine;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The job manager of a machine: the one the machine offers through
 * {@code machine.lookup(JobManager.class)}, or else one kept here for the machine's lifetime, so
 * every monitor of one machine (QMP and HMP) sees the same jobs. Guarded by {@code lock}.
 */
public final class MachineJobs {

    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final Map<Machine, JobManager> OWN = new WeakHashMap<>();

    private MachineJobs() {
    }

    public static JobManager of(Machine machine) {
        java.util.Optional<JobManager> offered = machine.lookup(JobManager.class);
        if (offered.isPresent()) {
            return offered.get();
        }
        LOCK.lock();
        try {
            return OWN.computeIfAbsent(machine, m -> new JobManager());
        } finally {
            LOCK.unlock();
        }
    }
}
