package dev.strata.jobs.bench;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.OnError;
import dev.strata.jobs.backup.Backup;
import dev.strata.jobs.commit.Commit;
import dev.strata.jobs.commit.CommitRequest;
import dev.strata.jobs.mirror.Mirror;
import dev.strata.jobs.mirror.MirrorRequest;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Runs one Strata job of a {@link JobKind} on the chain in a directory, the way the monitor's
 * QMP commands start it, and times it from start to the job's end (through READY and complete
 * where the job has them). Single-threaded driver; the job runs on its own threads.
 */
final class StrataJobRunner {

    private static final Duration LIMIT = Duration.ofMinutes(20);
    private static final Duration READY_UNDER_LOAD = Duration.ofSeconds(60);

    private StrataJobRunner() {
    }

    /**
     * What one job did under a guest load: nanoseconds to READY (0 for jobs without READY, -1 if it
     * never got there in time and was cancelled), nanoseconds from start to the job's end (-1 when
     * cancelled), and the guest's IOPS and p99 latency over the whole run.
     */
    record Outcome(long readyNs, long totalNs, double guestIops, double guestP99Us) {
    }

    /**
     * Nanoseconds from start to the job's end; -1 if, under the guest load, the job did not reach
     * READY within 60 s (it is then cancelled).
     *
     * @param guest if not null, an unthrottled guest load runs on the drive during the job; gets {IOPS, p99 us}
     */
    static long time(JobKind kind, Path chainDir, double[] guest) throws InterruptedException {
        Outcome o = run(kind, chainDir, guest == null ? -1 : 0, 70);
        if (guest != null) {
            guest[0] = o.guestIops();
            guest[1] = o.guestP99Us();
        }
        return o.totalNs();
    }

    /**
     * Runs the job once, with a guest load when {@code iops >= 0} (0: unthrottled; else that many
     * 4 KiB requests per second, {@code readPercent} % reads, 8 deep).
     */
    static Outcome run(JobKind kind, Path chainDir, long iops, int readPercent) throws InterruptedException {
        BlockGraph g = new BlockGraph();
        try {
            BlockBackend drive = JobsBench.openDrive(g, chainDir.resolve("L2.qcow2"));
            BlockNode top = drive.root();
            JobManager jobs = new JobManager();
            GuestLoad load = iops < 0 ? null : new GuestLoad(drive, 8, iops, readPercent).start();
            long start = System.nanoTime();
            Job job = start(kind, jobs, g, top, chainDir);
            long readyNs = 0;
            if (kind.goesReady()) {
                // under a guest a job that must converge may never get there: give up after READY_UNDER_LOAD
                if (load != null && !job.awaitStatus(JobStatus.READY, READY_UNDER_LOAD)) {
                    jobs.cancel(job, true);
                    job.awaitStatus(JobStatus.NULL, LIMIT);
                    double[] gl = load.stop();
                    return new Outcome(-1, -1, gl[0], gl[1]);
                }
                if (!job.awaitStatus(JobStatus.READY, LIMIT)) {
                    throw new IllegalStateException(kind.label() + " did not reach READY: " + job.status() + " " + job.error());
                }
                readyNs = System.nanoTime() - start;
                jobs.complete(job);
            }
            if (!job.awaitStatus(JobStatus.NULL, LIMIT)) {
                throw new IllegalStateException(kind.label() + " did not finish: " + job.status());
            }
            long ns = System.nanoTime() - start;
            double[] gl = load == null ? new double[2] : load.stop();
            if (job.error() != null) {
                throw new IllegalStateException(kind.label() + " failed: " + job.error());
            }
            return new Outcome(readyNs, ns, gl[0], gl[1]);
        } finally {
            g.closeAll();
        }
    }

    private static Job start(JobKind kind, JobManager jobs, BlockGraph g, BlockNode top, Path chainDir) {
        return switch (kind) {
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
        return JobTargets.createAndOpen(g, chainDir.resolve("target.qcow2").toString(), "qcow2", top.size(), null, false, null);
    }

    /** {IOPS, p99 us} of the guest load for 2 s on the idle drive. */
    static double[] idleLoad(Path chainDir) throws InterruptedException {
        return idleLoad(chainDir, 0, 70);
    }

    /** {IOPS, p99 us} of a guest load ({@code iops} 0: unthrottled) for 2 s on the idle drive. */
    static double[] idleLoad(Path chainDir, long iops, int readPercent) throws InterruptedException {
        BlockGraph g = new BlockGraph();
        try {
            GuestLoad load = new GuestLoad(JobsBench.openDrive(g, chainDir.resolve("L2.qcow2")), 8, iops, readPercent).start();
            Thread.sleep(2000);
            return load.stop();
        } finally {
            g.closeAll();
        }
    }
}
