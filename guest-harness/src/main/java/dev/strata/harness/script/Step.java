package dev.strata.harness.script;

import java.time.Duration;
import java.util.List;

/**
 * One line of a scenario script, already checked. Each carries its line number for messages.
 * See docs/scenarios.md for the line format.
 */
public sealed interface Step {

    int line();

    /** {@code img ARGS…}: runs {@code strata img} (create, info, check, map, …) in the script's folder. */
    record Img(int line, List<String> args) implements Step { }

    /**
     * {@code host PROGRAM ARGS…}: runs a program of the host (e.g. {@code nbdinfo}, {@code qemu-img})
     * while the machine runs; a non-zero exit fails the step, and its output is what {@code expect} sees.
     */
    record Host(int line, List<String> args) implements Step { }

    /** {@code fill FILE PATTERN OFFSET LENGTH}: writes a byte pattern into an image before the machine starts. */
    record Fill(int line, String file, int pattern, long offset, long length) implements Step { }

    /** {@code check-pattern FILE PATTERN OFFSET LENGTH}: every byte of the range reads as PATTERN (image opened read-only). */
    record CheckPattern(int line, String file, int pattern, long offset, long length) implements Step { }

    /**
     * {@code machine [NAME] OPTIONS…}: starts a machine from a QEMU-style command line. The first
     * machine is the one unaddressed steps talk to; {@code name} is null when it has none. Further
     * machines need a name, and steps reach them with {@link On}.
     */
    record Machine(int line, String name, List<String> args) implements Step { }

    /** {@code on NAME: STEP}: runs a machine step (hmp, qmp, guest, verify, wait) on the machine called NAME. */
    record On(int line, String machine, Step step) implements Step { }

    /** {@code guest SPEC}: starts a guest workload ({@code drive=virtio0,rw=randrw,…}). */
    record Guest(int line, String spec) implements Step { }

    /** {@code sleep DURATION}: waits, e.g. {@code sleep 2s}, {@code sleep 500ms}. */
    record Sleep(int line, Duration duration) implements Step { }

    /** {@code hmp LINE} (must not print an error) or {@code hmp! LINE} (must print one). */
    record Hmp(int line, String command, boolean expectError) implements Step { }

    /** {@code qmp JSON}: one QMP command; an error reply fails the step unless written {@code qmp!}. */
    record Qmp(int line, String json, boolean expectError) implements Step { }

    /** {@code wait job ID [TIMEOUT]}: until the job is gone (concluded and dismissed) or the timeout passes. */
    record WaitJob(int line, String jobId, Duration timeout) implements Step { }

    /** {@code wait event NAME [TIMEOUT]}: until a QMP event of that name arrives (counting from the script start). */
    record WaitEvent(int line, String event, Duration timeout) implements Step { }

    /** {@code expect REGEX} / {@code expect-not REGEX}: the previous command's output must (not) match. */
    record Expect(int line, String regex, boolean negate) implements Step { }

    /** {@code verify}: stops the guest workloads and runs a full-disk verification pass. */
    record Verify(int line) implements Step { }

    /** {@code echo TEXT}: prints a line (for attended runs). */
    record Echo(int line, String text) implements Step { }

    /** {@code report FILE}: writes the timeline report (SVG) of everything so far. */
    record Report(int line, String file) implements Step { }
}
