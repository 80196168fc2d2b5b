package dev.strata.harness.script;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Chains;
import dev.strata.harness.img.ImgTool;
import dev.strata.harness.guest.VerifyReport;
import dev.strata.harness.guest.Workload;
import dev.strata.harness.guest.WorkloadSpec;
import dev.strata.harness.launcher.CommandLineParser;
import dev.strata.harness.launcher.MachineBuilder;
import dev.strata.harness.launcher.MachineConfig;
import dev.strata.harness.launcher.StrataMachine;
import dev.strata.harness.report.SvgReport;
import dev.strata.harness.report.Timeline;
import dev.strata.jobs.BlockJobInfo;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.QmpEvent;
import dev.strata.monitor.watch.JobProgressText;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Runs scenario steps against a real in-process {@link StrataMachine}: HMP through the
 * machine's interpreter, QMP through a real QMP session ({@link InProcessQmp}), the guest's own
 * workloads and verification, and a {@link Timeline} fed by QMP events, job progress and the
 * guest's per-second figures.
 *
 * <p>Called from the runner's thread; event and sampling callbacks come from other threads and
 * only touch the thread-safe timeline and event list.
 */
public final class MachineScenarioHost implements ScenarioHost {

    private final PrintStream out;
    private final PrintStream err;
    private final Timeline timeline = new Timeline(Workload.TICK_MILLIS);
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closers = new ArrayList<>();
    private StrataMachine machine;
    private InProcessQmp qmp;
    /** False when the script runs on a machine the launcher built ({@code -guest script=}): not ours to close. */
    private boolean ownsMachine = true;

    public MachineScenarioHost(String title, PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        timeline.title(title);
    }

    @Override
    public int img(List<String> args, PrintStream o, PrintStream e) {
        return ImgTool.run(args.toArray(String[]::new), o, e);
    }

    /** A host for a script given with {@code -guest script=FILE}: it drives {@code m}, which it does not own. */
    public static MachineScenarioHost attachedTo(StrataMachine m, String title, PrintStream out, PrintStream err) {
        MachineScenarioHost h = new MachineScenarioHost(title, out, err);
        h.ownsMachine = false;
        h.machine = m;
        h.wire();
        return h;
    }

    @Override
    public void startMachine(List<String> args) {
        if (machine != null) {
            throw new IllegalStateException(ownsMachine
                    ? "a machine is already running; a script starts one machine"
                    : "this script runs on the machine of the command line (-guest script=); remove its 'machine' step");
        }
        List<String> all = new ArrayList<>(args);
        if (!all.contains("-monitor")) {
            all.add("-monitor");
            all.add("none");
        }
        MachineConfig config = new CommandLineParser().parse(all);
        machine = new MachineBuilder(InputStream.nullInputStream(), out, err).build(config);
        wire();
    }

    private void wire() {
        timeline.begin();
        EventBus bus = machine.monitor().events();
        closers.add(bus.subscribe(new EventBus.Listener() {
            @Override
            public void event(QmpEvent e) {
                events.add(e.name());
                recordEvent(e);
            }
        }));
        machine.guest().workloads().forEach(this::sampleGuest);
        timeline.chainBefore(chainOfFirstDrive());
        Thread sampler = Thread.ofVirtual().name("scenario-progress").start(this::sampleProgress);
        closers.add(sampler::interrupt);
        qmp = new InProcessQmp(machine.monitor());
        closers.add(qmp);
    }

    private void sampleGuest(Workload w) {
        w.onTick(t -> timeline.sample(t.workload(), t.iops(), t.p99Ns() / 1000.0));
    }

    /** Job status changes become the job's phases; every other event becomes a mark on the time axis. */
    private void recordEvent(QmpEvent e) {
        if (!e.name().equals("JOB_STATUS_CHANGE")) {
            String detail = e.data() == null ? "" : e.data().path("device").asText(e.data().path("id").asText(""));
            timeline.event(e.name(), detail);
            return;
        }
        String id = e.data().path("id").asText();
        String status = e.data().path("status").asText();
        switch (status) {
            case "created" -> {
                var job = machine.jobs().find(id);
                timeline.jobStarted(id, job != null ? job.type().toString().toLowerCase() : "job");
            }
            case "null" -> timeline.jobEnded(id, outcomeOf(id));
            default -> {
                timeline.jobPhase(id, status);
                var job = machine.jobs().find(id);
                if (job != null) {
                    timeline.jobProgress(id, job.offset(), job.len());  // the last bytes, not the sampler's last look
                }
            }
        }
    }

    private String outcomeOf(String id) {
        for (int i = events.size() - 1; i >= 0; i--) {
            String name = events.get(i);
            if (name.equals("BLOCK_JOB_CANCELLED")) {
                return "cancelled";
            }
            if (name.equals("BLOCK_JOB_COMPLETED")) {
                return "completed";
            }
        }
        return "ended";
    }

    private void sampleProgress() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                for (BlockJobInfo j : machine.jobs().queryBlockJobs()) {
                    timeline.jobProgress(j.device(), j.offset(), j.len());
                }
                Thread.sleep(Workload.TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // a job vanished between listing and reading: sample again next round
            }
        }
    }

    private List<String> chainOfFirstDrive() {
        List<String> names = new ArrayList<>();
        List<BlockBackend> backends = machine.backends();
        if (!backends.isEmpty()) {
            for (BlockNode n : Chains.chain(backends.get(0).root())) {
                names.add(n.filename());
            }
        }
        return names;
    }

    @Override
    public String hmp(String commandLine) {
        requireMachine();
        return machine.monitor().hmp().executeNow(commandLine).replace("\r\n", "\n");
    }

    @Override
    public String qmp(String json) {
        requireMachine();
        return qmp.execute(json);
    }

    @Override
    public void startGuest(String spec) {
        requireMachine();
        sampleGuest(machine.guest().start(WorkloadSpec.parse(spec)));
    }

    @Override
    public VerifyOutcome verify() {
        requireMachine();
        try {
            machine.guest().stopWorkloads(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<VerifyReport> reports = machine.guest().verifyAll();
        if (reports.isEmpty()) {
            return new VerifyOutcome(false, "nothing to verify: no workload ran with verify=on");
        }
        StringBuilder sb = new StringBuilder();
        boolean ok = true;
        for (VerifyReport r : reports) {
            ok &= r.ok();
            sb.append(r.describe().strip()).append('\n');
        }
        return new VerifyOutcome(ok, sb.toString().strip());
    }

    @Override
    public boolean jobExists(String id) {
        requireMachine();
        return machine.jobs().find(id) != null;
    }

    @Override
    public List<String> jobProgressLines() {
        if (machine == null) {
            return List.of();
        }
        List<String> lines = new ArrayList<>();
        for (BlockJobInfo j : machine.jobs().queryBlockJobs()) {
            lines.add(JobProgressText.line(j));
        }
        return lines;
    }

    @Override
    public List<String> events() {
        return List.copyOf(events);
    }

    @Override
    public void writeReport(Path file) {
        if (machine != null) {
            timeline.chainAfter(chainOfFirstDrive());
        }
        try {
            Files.writeString(file, SvgReport.render(timeline.snapshot()));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the report to " + file + ": " + e.getMessage());
        }
    }

    private void requireMachine() {
        if (machine == null) {
            throw new IllegalStateException("no machine is running yet (add a 'machine' step first)");
        }
    }

    @Override
    public void close() {
        for (int i = closers.size() - 1; i >= 0; i--) {
            try {
                closers.get(i).close();
            } catch (Exception e) {
                // closing is best effort; the machine below still shuts down
            }
        }
        if (machine != null && ownsMachine) {
            machine.close();
        }
    }
}
