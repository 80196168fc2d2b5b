package dev.strata.harness.script;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * What a scenario needs from a machine. The launcher's machine implements it; the runner stays
 * free of machine wiring. Called from the runner's thread only.
 */
public interface ScenarioHost extends AutoCloseable {

    /** Runs {@code strata img ARGS}; returns its exit status. */
    int img(List<String> args, PrintStream out, PrintStream err);

    /** Builds and starts the machine from a QEMU-style command line (monitor and QMP not on stdio). */
    void startMachine(List<String> args);

    /** Runs one HMP command line and returns what it printed (lines end in {@code \n}). */
    String hmp(String commandLine);

    /** Runs one QMP command (a JSON object) and returns the reply line. */
    String qmp(String json);

    /** Starts a guest workload from its spec. */
    void startGuest(String spec);

    /** Stops workloads and verifies the whole disk; never throws for a verification failure. */
    VerifyOutcome verify();

    /** True while a job with this id exists (running or concluded but not dismissed). */
    boolean jobExists(String id);

    /** Names of the QMP events emitted since the machine started, in order. */
    List<String> events();

    /** One progress bar per running block job (see {@code JobProgressText}); none without a machine. */
    default List<String> jobProgressLines() {
        return List.of();
    }

    /** Writes the timeline report of the run so far. */
    void writeReport(Path file);

    /** Shuts the machine down (flushing images). */
    @Override
    void close();

    /** Outcome of a verification pass. */
    record VerifyOutcome(boolean ok, String summary) {
    }
}
