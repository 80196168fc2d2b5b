package dev.strata.harness.launcher;

import dev.strata.monitor.EventBus;
import dev.strata.monitor.QmpEvent;
import dev.strata.monitor.Version;
import dev.strata.monitor.hmp.HmpInterpreter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The HMP monitor on the terminal ({@code -monitor stdio}, the default): QEMU's banner, the
 * {@code (qemu) } prompt, each line run by the monitor's {@link HmpInterpreter}, output with
 * {@code \r\n} as QEMU writes it, asynchronous monitor text printed above the prompt. End of
 * input (Ctrl-D) quits the machine. The terminal echoes what is typed, so nothing is echoed here
 * (the socket sessions of {@code -monitor unix:} do echo, as QEMU's readline does). A plain line
 * reader: no line editing or history; on a real terminal the launcher uses the monitor's JLine
 * console instead, and this one serves pipes (scripts, tests).
 *
 * <p>The session runs on its own virtual thread; asynchronous text comes from any thread. Writes
 * are serialised by {@code writeLock}, which also guards {@code atPrompt}.
 */
final class LineConsole implements EventBus.Listener {

    private final HmpInterpreter hmp;
    private final EventBus events;
    private final InputStream in;
    private final PrintStream out;
    private final StrataMachine machine;
    private final ReentrantLock writeLock = new ReentrantLock();
    private boolean atPrompt;

    LineConsole(HmpInterpreter hmp, EventBus events, InputStream in, PrintStream out, StrataMachine machine) {
        this.hmp = hmp;
        this.events = events;
        this.in = in;
        this.out = out;
        this.machine = machine;
    }

    /** Starts the session on its own virtual thread; returns at once. */
    void start() {
        Thread.ofPlatform().daemon().name("strata-hmp-stdio").start(this::run);
    }

    private void run() {
        try (AutoCloseable sub = events.subscribe(this);
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            write("QEMU " + Version.qemu() + " monitor - type 'help' for more information\r\n", true);
            while (!machine.isQuitRequested()) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                markInput();
                HmpInterpreter.Result res = hmp.execute(line);
                write(res.output().replace("\n", "\r\n"), false);
                res.context().runAfterReply();
                if (machine.isQuitRequested() || res.context().sessionEnds()) {
                    return;
                }
                write("", true);
            }
        } catch (Exception e) {
            // the terminal is gone: same as end of input
        }
        endLine();
        machine.requestQuit("end of input");
    }

    /** Text from elsewhere in the monitor (job messages and the like), printed above the prompt. */
    @Override
    public void asyncText(String text) {
        writeLock.lock();
        try {
            if (atPrompt) {
                out.print("\r\n");
            }
            out.print(text.replace("\n", "\r\n") + "\r\n");
            if (atPrompt) {
                out.print("(qemu) ");
            }
            out.flush();
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void event(QmpEvent event) {
        // HMP does not show QMP events
    }

    private void write(String text, boolean thenPrompt) {
        writeLock.lock();
        try {
            out.print(text);
            if (thenPrompt) {
                out.print("(qemu) ");
            }
            atPrompt = thenPrompt;
            out.flush();
        } finally {
            writeLock.unlock();
        }
    }

    private void markInput() {
        writeLock.lock();
        try {
            atPrompt = false;
        } finally {
            writeLock.unlock();
        }
    }

    /** Ends a prompt line left open (the machine quits for another reason), so later output starts clean. */
    void endLine() {
        writeLock.lock();
        try {
            if (atPrompt) {
                atPrompt = false;
                out.print("\r\n");
                out.flush();
            }
        } finally {
            writeLock.unlock();
        }
    }
}
