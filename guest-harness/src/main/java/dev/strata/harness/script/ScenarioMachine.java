package dev.strata.harness.script;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Chains;
import dev.strata.blockdrv.WriteNotifier;
import dev.strata.harness.guest.VerifyReport;
import dev.strata.harness.guest.Workload;
import dev.strata.harness.guest.WorkloadSpec;
import dev.strata.harness.launcher.StrataMachine;
import dev.strata.harness.report.Timeline;
import dev.strata.jobs.BlockJobInfo;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.QmpEvent;
import dev.strata.monitor.watch.JobProgressText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

/**
 * One machine of a scenario run: HMP through the machine's interpreter, QMP through a real QMP
 * session ({@link InProcessQmp}), the guest's own workloads and verification, and its share of
 * the run's {@link Timeline} (QMP events, job phases and progress, guest ticks), recorded under
 * its {@code label} so the report can tell the machines of a run apart.
 *
 * <p>Called from the runner's thread; event and sampling callbacks come from other threads and
 * only touch the thread-safe timeline and event list.
 */
final class ScenarioMachine implements AutoCloseable {

    private final String label;
    private final StrataMachine machine;
    private final boolean owned;
    private final Timeline timeline;
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closers = new ArrayList<>();
    private final InProcessQmp qmp;
    /** Writes per drive since the machine started (any thread adds, the sampler reads). */
    private final Map<String, LongAdder> writesByDrive = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @param label "" for a run's only or first unnamed machine, else its name
     * @param owned false when the launcher built the machine ({@code -guest script=}): not ours to close
     */
    ScenarioMachine(String label, StrataMachine machine, boolean owned, Timeline timeline) {
        this.label = label;
        this.machine = machine;
        this.owned = owned;
        this.timeline = timeline;
        timeline.machineStarted(label);
        EventBus bus = machine.monitor().events();
        closers.add(bus.subscribe(new EventBus.Listener() {
            @Override
            public void event(QmpEvent e) {
                events.add(e.name());
                recordEvent(e);
            }
        }));
        machine.guest().workloads().forEach(this::sampleGuest);
        countWrites();
        Thread sampler = Thread.ofVirtual().name("scenario-progress").start(this::sampleProgress);
        closers.add(sampler::interrupt);
        qmp = new InProcessQmp(machine.monitor());
        closers.add(qmp);
    }

    private void sampleGuest(Workload w) {
        w.onTick(t -> timeline.sample(label, t.workload(), t.iops(), t.p99Ns() / 1000.0));
    }

    /** Job status changes become the job's phases; every other event becomes a mark on the time axis. */
    private void recordEvent(QmpEvent e) {
        if (!e.name().equals("JOB_STATUS_CHANGE")) {
            String detail = e.data() == null ? "" : e.data().path("device").asText(e.data().path("id").asText(""));
            timeline.event(label, e.name(), detail);
            return;
        }
        String id = e.data().path("id").asText();
        String status = e.data().path("status").asText();
        switch (status) {
            case "created" -> {
                var job = machine.jobs().find(id);
                timeline.jobStarted(label, id, job != null ? job.type().toString().toLowerCase() : "job");
            }
            case "null" -> timeline.jobEnded(label, id, outcomeOf());
            default -> {
                timeline.jobPhase(label, id, status);
                var job = machine.jobs().find(id);
                if (job != null) {
                    timeline.jobProgress(label, id, job.offset(), job.len());  // the last bytes, not the sampler's last look
                }
            }
        }
    }

    private String outcomeOf() {
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

    /** Samples job progress, and the writes each drive without a guest workload receives, every tick. */
    private void sampleProgress() {
        Map<String, Long> served = new HashMap<>();
        Set<String> busy = new HashSet<>();
        long last = System.nanoTime();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                for (BlockJobInfo j : machine.jobs().queryBlockJobs()) {
                    timeline.jobProgress(label, j.device(), j.offset(), j.len());
                }
                long now = System.nanoTime();
                sampleServed(served, busy, (now - last) / 1e9);
                last = now;
                Thread.sleep(Workload.TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // a job vanished between listing and reading: sample again next round
            }
        }
    }

    /**
     * A line per drive that no guest workload of this machine runs on, in writes per second: on
     * the destination of a migration, the writes arriving over NBD (the mirror's copy, then the
     * source guest's own writes after the switch-over). No latency is known for them ({@code -1}).
     */
    private void sampleServed(Map<String, Long> seen, Set<String> busy, double seconds) {
        Set<String> guestDrives = new HashSet<>();
        for (Workload w : machine.guest().workloads()) {
            guestDrives.add(w.drive());
        }
        for (Map.Entry<String, LongAdder> e : writesByDrive.entrySet()) {
            String drive = e.getKey();
            long n = e.getValue().sum();
            Long before = seen.put(drive, n);
            if (guestDrives.contains(drive) || before == null || seconds <= 0) {
                continue;
            }
            // drawn from its first write on, zeros included; an idle drive draws nothing
            if (n > before || busy.contains(drive)) {
                busy.add(drive);
                timeline.sample(label, drive + " writes received", (n - before) / seconds, -1);
            }
        }
    }

    /** Counts the writes reaching each drive's disk, whoever makes them (a guest, an NBD client). */
    private void countWrites() {
        for (BlockBackend b : machine.backends()) {
            LongAdder count = new LongAdder();
            BlockNode root = b.root();
            WriteNotifier n = new WriteNotifier() {
                @Override
                public void afterWrite(BlockNode node, long offset, long bytes) {
                    count.increment();
                }
            };
            root.addWriteNotifier(n);
            closers.add(() -> root.removeWriteNotifier(n));
            writesByDrive.put(b.name(), count);
        }
    }

    /** The file names of the first drive's backing chain, top first. */
    List<String> chainOfFirstDrive() {
        List<String> names = new ArrayList<>();
        List<BlockBackend> backends = machine.backends();
        if (!backends.isEmpty()) {
            for (BlockNode n : Chains.chain(backends.get(0).root())) {
                names.add(n.filename());
            }
        }
        return names;
    }

    String hmp(String commandLine) {
        return machine.monitor().hmp().executeNow(commandLine).replace("\r\n", "\n");
    }

    String qmp(String json) {
        return qmp.execute(json);
    }

    void startGuest(String spec) {
        sampleGuest(machine.guest().start(WorkloadSpec.parse(spec)));
    }

    ScenarioHost.VerifyOutcome verify() {
        try {
            machine.guest().stopWorkloads(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<VerifyReport> reports = machine.guest().verifyAll();
        if (reports.isEmpty()) {
            return new ScenarioHost.VerifyOutcome(false, "nothing to verify: no workload ran with verify=on");
        }
        StringBuilder sb = new StringBuilder();
        boolean ok = true;
        for (VerifyReport r : reports) {
            ok &= r.ok();
            sb.append(r.describe().strip()).append('\n');
        }
        return new ScenarioHost.VerifyOutcome(ok, sb.toString().strip());
    }

    boolean jobExists(String id) {
        return machine.jobs().find(id) != null;
    }

    /** One progress bar per running job, prefixed with the machine's name when it has one. */
    List<String> jobProgressLines() {
        List<String> lines = new ArrayList<>();
        for (BlockJobInfo j : machine.jobs().queryBlockJobs()) {
            lines.add((label.isEmpty() ? "" : label + ": ") + JobProgressText.line(j));
        }
        return lines;
    }

    List<String> events() {
        return List.copyOf(events);
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
        if (owned) {
            machine.close();
        }
    }
}
