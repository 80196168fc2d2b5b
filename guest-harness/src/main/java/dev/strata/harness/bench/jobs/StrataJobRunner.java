package dev.strata.harness.bench.jobs;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.backup.Backup;
import dev.strata.jobs.commit.Commit;
import dev.strata.jobs.commit.CommitRequest;
import dev.strata.jobs.mirror.Mirror;
import dev.strata.jobs.mirror.MirrorRequest;
import dev.strata.jobs.stream.Stream;
import dev.strata.jobs.stream.StreamRequest;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Runs one Strata job of a {@link JobKind} on the chain in a directory, the way the monitor's
 * QMP commands start it, and times it from start to the job's end (through READY and complete
 * where the job has them). Single-threaded driver; the job runs on its own threads.
 */
final class StrataJobRunner {

    private static final Duration LIMIT = Duration.ofMinutes(20);
    /** How long a job that must converge gets to reach READY under a guest load ({@code -DreadyWaitS}, default 60). */
    private static final Duration READY_UNDER_LOAD = Duration.ofSeconds(Long.getLong("readyWaitS", 60));

    private StrataJobRunner() {
    }

    /**
     * What one job did under a guest load: nanoseconds to READY (0 for jobs without READY, -1 if it
     * never got there in time and was cancelled), nanoseconds from start to the job's end (-1 when
     * cancelled), the guest's {IOPS, p99 us} during the job, and on the same running load in the
     * second before the job and the second after it (the idle reference).
     */
    record Outcome(long readyNs, long totalNs, double[] during, double[] idle) {
        double share() {
            return idle[0] == 0 ? 0 : during[0] / idle[0];
        }
    }

    /** Nanoseconds from start to the job's end, no guest. */
    static long time(JobKind kind, Path chainDir) throws InterruptedException {
        return run(kind, chainDir, -1, 70).totalNs();
    }

    /**
     * Runs the job once, with a guest load when {@code iops >= 0} (0: unthrottled; else that many
     * 4 KiB requests per second, {@code readPercent} % reads, 8 deep). A job that must converge
     * gets {@code -DreadyWaitS} (60) seconds to reach READY under the load, else it is cancelled.
     */
    static Outcome run(JobKind kind, Path chainDir, long iops, int readPercent) throws InterruptedException {
        return run(kind, chainDir, iops, readPercent, false);
    }

    /** As above, with the chain opened {@code cache.direct=on} when {@code direct} (QEMU's cache=none). */
    static Outcome run(JobKind kind, Path chainDir, long iops, int readPercent, boolean direct) throws InterruptedException {
        BlockGraph g = new BlockGraph();
        try {
            BlockBackend drive = JobsBench.openDrive(g, chainDir.resolve("L2.qcow2"), direct);
            BlockNode top = drive.root();
            JobManager jobs = new JobManager();
            GuestLoad load = iops < 0 ? null : new GuestLoad(drive, 8, iops, readPercent).start();
            GuestLoad.Mark m0 = load == null ? null : load.mark();
            if (load != null) {
                Thread.sleep(1000);
            }
            GuestLoad.Mark m1 = load == null ? null : load.mark();
            long start = System.nanoTime();
            Job job = start(kind, jobs, g, top, chainDir);
            long readyNs = 0;
            long ns = -1;
            if (kind.goesReady()) {
                if (load != null && !job.awaitStatus(JobStatus.READY, READY_UNDER_LOAD)) {
                    readyNs = -1;
                    jobs.cancel(job, true);
                } else if (!job.awaitStatus(JobStatus.READY, LIMIT)) {
                    throw new IllegalStateException(kind.label() + " did not reach READY: " + job.status() + " " + job.error());
                } else {
                    readyNs = System.nanoTime() - start;
                    jobs.complete(job);
                }
            }
            if (!job.awaitStatus(JobStatus.NULL, LIMIT)) {
                throw new IllegalStateException(kind.label() + " did not finish: " + job.status());
            }
            if (readyNs >= 0) {
                ns = System.nanoTime() - start;
                if (job.error() != null) {
                    throw new IllegalStateException(kind.label() + " failed: " + job.error());
                }
            }
            if (load == null) {
                return new Outcome(readyNs, ns, new double[2], new double[2]);
            }
            GuestLoad.Mark m2 = load.mark();
            Thread.sleep(1000);
            GuestLoad.Mark m3 = load.mark();
            load.halt();
            return new Outcome(readyNs, ns, load.window(m1, m2), load.window(m0, m1, m2, m3));
        } finally {
            g.closeAll();
        }
    }

    private static Job start(JobKind kind, JobManager jobs, BlockGraph g, BlockNode top, Path chainDir) {
        return switch (kind) {
            case STREAM -> Stream.start(jobs, g, StreamRequest.of("drive0", "drive0", null, 0));
            case COMMIT_INTERMEDIATE -> Commit.start(jobs, g, new CommitRequest(null, "drive0", top.backing().backing().nodeName(),
                    null, top.backing().nodeName(), null, null, 0, OnError.REPORT, true, true));
            case COMMIT_ACTIVE -> Commit.start(jobs, g, CommitRequest.of("drive0", null, null));
            case MIRROR_FULL -> {
                BlockNode target = newTarget(g, top, chainDir);
                yield Mirror.start(jobs, g, new MirrorRequest(null, "drive0", target.nodeName(), "full", 0, 0,
                        OnError.REPORT, OnError.REPORT, true, true), true);
            }
            case BACKUP_FULL -> {
                BlockNode target = newTarget(g, top, chainDir);
                yield Backup.start(jobs, g, null, "drive0", target, "full", 0, OnError.REPORT, OnError.REPORT, true, true,
                        () -> g.close(target));
            }
        };
    }

    private static BlockNode newTarget(BlockGraph g, BlockNode top, Path chainDir) {
        return JobTargets.createAndOpen(g, chainDir.resolve("target.qcow2").toString(), "qcow2", top.size(), null, false, null, top.cache());
    }

}
