package dev.strata.monitor.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.strata.jobs.BlockJobInfo;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobInfo;
import dev.strata.jobs.JobManager;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.CommandSet;
import dev.strata.monitor.CompletionKind;
import dev.strata.monitor.Json;
import dev.strata.monitor.Param;
import java.util.function.BiConsumer;

/**
 * The job commands: {@code block-job-*} and {@code job-*} verbs, {@code query-block-jobs},
 * {@code query-jobs}, their HMP forms ({@code block_job_*}, {@code info block-jobs}), and the job
 * types' start commands ({@link StreamCommands}, ...), all over the machine's one
 * {@link JobManager}. Job events reach the monitor through {@link JobEventBridge}, which the
 * launcher attaches. Registered once per monitor; handlers run on monitor threads.
 */
public final class JobCommands implements CommandSet {

    private final JobManager jobs;

    public JobCommands(JobManager jobs) {
        this.jobs = jobs;
    }

    @Override
    public void register(CommandRegistry r) {
        registerQueries(r, jobs);
        registerBlockJobVerbs(r, jobs);
        registerJobVerbs(r, jobs);
        r.addCompletionSource(CompletionKind.JOB, m -> jobs.jobsNewestFirst().stream().map(Job::id).toList());
        StreamCommands.register(r, jobs);
        BlockJobStarters.register(r, jobs);
        Transaction.register(r, jobs);
        BitmapCommands.register(r);
    }

    private static void registerQueries(CommandRegistry r, JobManager jobs) {
        r.register(Command.qmp("query-block-jobs")
                .help("show progress of ongoing block device operations")
                .handler((ctx, a) -> {
                    ArrayNode out = Json.array();
                    jobs.queryBlockJobs().forEach(i -> out.add(JobJson.blockJobInfo(i)));
                    return out;
                })
                .hmp("info block-jobs", "", "")
                .hmpFormat((ctx, a, res) -> printBlockJobs(ctx, jobs))
                .build());
        r.register(Command.qmp("query-jobs")
                .help("list all jobs")
                .handler((ctx, a) -> {
                    ArrayNode out = Json.array();
                    for (JobInfo i : jobs.queryJobs()) {
                        out.add(JobJson.jobInfo(i));
                    }
                    return out;
                })
                .build());
    }

    /** {@code info block-jobs}, QEMU's {@code hmp_info_block_jobs} lines. */
    private static void printBlockJobs(CommandContext ctx, JobManager jobs) {
        var list = jobs.queryBlockJobs();
        if (list.isEmpty()) {
            ctx.println("No active jobs");
            return;
        }
        for (BlockJobInfo i : list) {
            String head = i.type() == dev.strata.jobs.JobType.STREAM
                    ? "Streaming device " + i.device()
                    : "Type " + i.type().qapiName() + ", device " + i.device();
            ctx.println(head + ": Completed " + i.offset() + " of " + i.len() + " bytes, speed limit " + i.speed() + " bytes/s");
        }
    }

    private static void verb(CommandRegistry r, String qmp, String arg, String help, String hmp, String argsType,
                             String hmpParams, boolean blockApi, JobManager jobs, BiConsumer<Job, Args> action, Param... extra) {
        Param[] params = new Param[extra.length + 1];
        params[0] = Param.str(arg);
        System.arraycopy(extra, 0, params, 1, extra.length);
        Command.Builder b = Command.qmp(qmp).params(params).help(help).handler((ctx, a) -> {
            String id = a.str(arg);
            Job j = blockApi ? jobs.blockJob(id) : jobs.job(id);
            action.accept(j, a);
            return null;
        });
        if (hmp != null) {
            b.hmp(hmp, argsType, hmpParams).complete(arg, CompletionKind.JOB);
        }
        r.register(b.build());
    }

    private static void registerBlockJobVerbs(CommandRegistry r, JobManager jobs) {
        verb(r, "block-job-set-speed", "device", "set the maximum speed of a block job (bytes/s, 0 = unlimited)",
                "block_job_set_speed", "device:B,speed:o", "device speed", true, jobs,
                (j, a) -> jobs.setSpeed(j, a.integer("speed")), Param.integer("speed"));
        verb(r, "block-job-cancel", "device", "stop a block job (force: abandon a ready mirror, or a paused job)",
                "block_job_cancel", "force:-f,device:B", "[-f] device", true, jobs,
                (j, a) -> jobs.blockJobCancel(j, a.bool("force", false)), Param.optBool("force"));
        verb(r, "block-job-pause", "device", "pause a block job at its next pause point",
                "block_job_pause", "device:B", "device", true, jobs, (j, a) -> jobs.pause(j));
        verb(r, "block-job-resume", "device", "resume a paused block job",
                "block_job_resume", "device:B", "device", true, jobs, (j, a) -> jobs.resume(j));
        verb(r, "block-job-complete", "device", "end a ready mirror or active commit by switching the device over",
                "block_job_complete", "device:B", "device", true, jobs, (j, a) -> jobs.complete(j));
        verb(r, "block-job-finalize", "id", "finalize a pending block job (auto-finalize=false)",
                null, null, null, true, jobs, (j, a) -> jobs.finalizeJob(j));
        verb(r, "block-job-dismiss", "id", "forget a concluded block job (auto-dismiss=false)",
                null, null, null, true, jobs, (j, a) -> jobs.dismiss(j));
    }

    private static void registerJobVerbs(CommandRegistry r, JobManager jobs) {
        verb(r, "job-pause", "id", "pause a job", null, null, null, false, jobs, (j, a) -> jobs.pause(j));
        verb(r, "job-resume", "id", "resume a paused job", null, null, null, false, jobs, (j, a) -> jobs.resume(j));
        verb(r, "job-cancel", "id", "cancel a job (always forced)", null, null, null, false, jobs, (j, a) -> jobs.cancel(j));
        verb(r, "job-complete", "id", "complete a ready job", null, null, null, false, jobs, (j, a) -> jobs.complete(j));
        verb(r, "job-finalize", "id", "finalize a pending job", null, null, null, false, jobs, (j, a) -> jobs.finalizeJob(j));
        verb(r, "job-dismiss", "id", "dismiss a concluded job", null, null, null, false, jobs, (j, a) -> jobs.dismiss(j));
    }
}
