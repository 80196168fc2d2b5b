package dev.strata.harness.launcher;

import dev.strata.monitor.Version;
import dev.strata.monitor.hmp.HmpInterpreter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * A plain line-at-a-time HMP session: QEMU's banner, the {@code (qemu) } prompt, each line run by
 * the monitor's {@link HmpInterpreter}, output with {@code \r\n} as QEMU writes it. It serves the
 * terminal ({@code -monitor stdio}; end of input quits the machine) and each client of
 * {@code -monitor unix:...} (end of input just ends that client; typed lines are echoed as QEMU's
 * readline does, so a script that drops everything up to the first {@code \r\n} after its command
 * reads the same on both). It has no line editing or history: a JLine console from the monitor
 * module can take the terminal's place when there is one.
 *
 * <p>One instance per session, run on that session's (virtual) thread; the interpreter is safe to
 * call from many sessions at once. {@code atPrompt} is volatile: the launcher reads it from its
 * own thread to end a dangling prompt line on shutdown.
 */
final class LineConsole {

    private final HmpInterpreter hmp;
    private final InputStream in;
    private final PrintStream out;
    private final StrataMachine machine;
    private final boolean terminal;
    private volatile boolean atPrompt;

    /**
     * @param terminal true for stdio (no echo; end of input quits), false for a socket client
     */
    LineConsole(HmpInterpreter hmp, InputStream in, OutputStream out, StrataMachine machine, boolean terminal) {
        this.hmp = hmp;
        this.in = in;
        this.out = out instanceof PrintStream p ? p : new PrintStream(out, false, StandardCharsets.UTF_8);
        this.machine = machine;
        this.terminal = terminal;
    }

    /** Starts the session on its own virtual thread; returns at once. */
    void start(String name) {
        Thread.ofVirtual().name(name).start(this::run);
    }

    /** Runs the session on the calling thread until end of input or quit. */
    void run() {
        out.print("QEMU " + Version.qemu() + " monitor - type 'help' for more information\r\n");
        prompt();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            while (!machine.isQuitRequested()) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                atPrompt = false;
                if (!terminal) {
                    out.print(line + "\r\n");
                }
                HmpInterpreter.Result res = hmp.execute(line);
                out.print(res.output().replace("\n", "\r\n"));
                out.flush();
                res.context().runAfterReply();
                if (machine.isQuitRequested()) {
                    return;
                }
                prompt();
            }
        } catch (IOException e) {
            // the input is gone: same as end of input
        } catch (RuntimeException e) {
            out.print("Error: internal error: " + e + "\r\n");
        }
        if (terminal) {
            endLine();
            machine.requestQuit("end of input");
        }
    }

    private void prompt() {
        out.print("(qemu) ");
        out.flush();
        atPrompt = true;
    }

    /** Ends a prompt line left open (the machine quits for another reason), so later output starts clean. */
    void endLine() {
        if (atPrompt) {
            atPrompt = false;
            out.print("\r\n");
            out.flush();
        }
    }
}
