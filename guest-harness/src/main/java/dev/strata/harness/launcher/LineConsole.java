package dev.strata.harness.launcher;

import dev.strata.monitor.Version;
import dev.strata.monitor.hmp.HmpInterpreter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * A plain line-at-a-time HMP console on stdin/stdout: QEMU's banner, the {@code (qemu) } prompt,
 * each line run by the monitor's {@link HmpInterpreter}, output with {@code \r\n} as QEMU writes
 * it. End of input (Ctrl-D) quits the machine. It has no line editing or history: the monitor
 * module's JLine console takes its place once that lands; until then this keeps the machine
 * usable from a terminal or a pipe.
 *
 * <p>Runs on its own virtual thread; the interpreter is safe to call from any thread.
 */
final class LineConsole {

    private final HmpInterpreter hmp;
    private final InputStream in;
    private final PrintStream out;
    private final StrataMachine machine;

    LineConsole(HmpInterpreter hmp, InputStream in, PrintStream out, StrataMachine machine) {
        this.hmp = hmp;
        this.in = in;
        this.out = out;
        this.machine = machine;
    }

    /** Starts the console thread; returns at once. */
    void start() {
        Thread.ofVirtual().name("strata-hmp-stdio").start(this::loop);
    }

    private void loop() {
        out.print("QEMU " + Version.qemu() + " monitor - type 'help' for more information\r\n(qemu) ");
        out.flush();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            while (!machine.isQuitRequested()) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                HmpInterpreter.Result res = hmp.execute(line);
                out.print(res.output().replace("\n", "\r\n"));
                out.flush();
                res.context().runAfterReply();
                if (machine.isQuitRequested()) {
                    return;
                }
                out.print("(qemu) ");
                out.flush();
            }
        } catch (IOException e) {
            // stdin gone: treat as end of input
        } catch (RuntimeException e) {
            out.print("Error: internal error: " + e + "\r\n");
        }
        out.print("\r\n");
        out.flush();
        machine.requestQuit("end of input");
    }
}
