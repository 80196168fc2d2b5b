package dev.strata.harness.script;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * What a scenario needs from its machines. The launcher's machines implement it; the runner stays
 * free of machine wiring. A run may start several machines: the first is the one a step talks to
 * when it names none ({@code machine} argument {@code null}); the others are reached by name
 * ({@code on dst: …}). Called from the runner's thread only.
 */
public interface ScenarioHost extends AutoCloseable {

    /** Runs {@code strata img ARGS}; returns its exit status. */
    int img(List<String> args, PrintStream out, PrintStream err);

    /**
     * Builds and starts a machine from a QEMU-style command line (monitor and QMP not on stdio).
     * {@code name} is null only for the run's first machine, which may also have one.
     */
    void startMachine(String name, List<String> args);

    /** Runs one HMP command line on a machine and returns what it printed (lines end in {@code \n}). */
    String hmp(String machine, String commandLine);

    /** Runs one QMP command (a JSON object) on a machine and returns the reply line. */
    String qmp(String machine, String json);

    /** Starts a guest workload from its spec on a machine. */
    void startGuest(String machine, String spec);

    /** Stops a machine's workloads and verifies its disks; never throws for a verification failure. */
    VerifyOutcome verify(String machine);

    /** True while a job with this id exists on a machine (running or concluded but not dismissed). */
    boolean jobExists(String machine, String id);

    /** Names of the QMP events a machine emitted since it started, in order. */
    List<String> events(String machine);

    /** One progress bar per running block job of every machine (see {@code JobProgressText}). */
    default List<String> jobProgressLines() {
        return List.of();
    }

    /** Writes the timeline report of the run so far: every machine's guest, events and jobs. */
    void writeReport(Path file);

    /** Shuts the machines down (flushing images) in the order they started. */
    @Override
    void close();

    /** Outcome of a verification pass. */
    record VerifyOutcome(boolean ok, String summary) {
    }
}
