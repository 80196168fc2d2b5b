package dev.strata.harness.script;

import dev.strata.harness.img.ImgTool;
import dev.strata.harness.guest.Workload;
import dev.strata.harness.launcher.CommandLineParser;
import dev.strata.harness.launcher.MachineBuilder;
import dev.strata.harness.launcher.MachineConfig;
import dev.strata.harness.launcher.StrataMachine;
import dev.strata.harness.report.SvgReport;
import dev.strata.harness.report.Timeline;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs scenario steps against real in-process {@link StrataMachine}s, one {@link ScenarioMachine}
 * each, all recording into one {@link Timeline}: a run may start a second machine
 * ({@code machine dst …}) and reach it by name, e.g. the destination of a storage migration,
 * which the first machine reaches over an NBD unix socket.
 *
 * <p>Called from the runner's thread only ({@code machines} is not shared); the machines' own
 * callbacks touch only the thread-safe timeline.
 */
public final class MachineScenarioHost implements ScenarioHost {

    private final PrintStream out;
    private final PrintStream err;
    private final Timeline timeline = new Timeline(Workload.TICK_MILLIS);
    /** By name; the first machine is also under {@link #first} ("" when it has no name). */
    private final Map<String, ScenarioMachine> machines = new LinkedHashMap<>();
    private String first;
    /** True when the script runs on a machine the launcher built ({@code -guest script=}). */
    private boolean attached;

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
        h.attached = true;
        h.add("", m, false);
        return h;
    }

    @Override
    public void startMachine(String name, List<String> args) {
        if (attached) {
            throw new IllegalStateException("this script runs on the machine of the command line (-guest script=); remove its 'machine' step");
        }
        if (first != null && name == null) {
            throw new IllegalStateException("a machine is already running; name the next one: machine NAME OPTIONS… (e.g. machine dst -drive …)");
        }
        if (name != null && machines.containsKey(name)) {
            throw new IllegalStateException("a machine called '" + name + "' is already running");
        }
        List<String> all = new ArrayList<>(args);
        if (!all.contains("-monitor")) {
            all.add("-monitor");
            all.add("none");
        }
        MachineConfig config = new CommandLineParser().parse(all);
        add(name == null ? "" : name, new MachineBuilder(InputStream.nullInputStream(), out, err).build(config), true);
    }

    private void add(String label, StrataMachine m, boolean owned) {
        if (first == null) {
            timeline.begin();
            first = label;
        }
        ScenarioMachine sm = new ScenarioMachine(label, m, owned, timeline);
        machines.put(label, sm);
        if (label.equals(first)) {
            timeline.chainBefore(sm.chainOfFirstDrive());
        }
    }

    /** The machine a step addresses: {@code null} is the first one. */
    private ScenarioMachine machine(String name) {
        if (first == null) {
            throw new IllegalStateException("no machine is running yet (add a 'machine' step first)");
        }
        ScenarioMachine m = machines.get(name == null ? first : name);
        if (m == null) {
            throw new IllegalStateException("no machine called '" + name + "' (start it with: machine " + name + " OPTIONS…)");
        }
        return m;
    }

    @Override
    public String hmp(String machine, String commandLine) {
        return machine(machine).hmp(commandLine);
    }

    @Override
    public String qmp(String machine, String json) {
        return machine(machine).qmp(json);
    }

    @Override
    public void startGuest(String machine, String spec) {
        machine(machine).startGuest(spec);
    }

    @Override
    public VerifyOutcome verify(String machine) {
        return machine(machine).verify();
    }

    @Override
    public boolean jobExists(String machine, String id) {
        return machine(machine).jobExists(id);
    }

    @Override
    public List<String> jobProgressLines() {
        List<String> lines = new ArrayList<>();
        for (ScenarioMachine m : machines.values()) {
            lines.addAll(m.jobProgressLines());
        }
        return lines;
    }

    @Override
    public List<String> events(String machine) {
        return machine(machine).events();
    }

    @Override
    public void writeReport(Path file) {
        if (first != null) {
            timeline.chainAfter(machines.get(first).chainOfFirstDrive());
        }
        try {
            Files.writeString(file, SvgReport.render(timeline.snapshot()));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the report to " + file + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        // in the order they started: the first machine (the source of a migration) flushes onto a
        // destination's export while that destination still serves it
        for (ScenarioMachine m : machines.values()) {
            m.close();
        }
    }
}
