package dev.strata.monitor.hmp;

import dev.strata.jobs.JobManager;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.QmpEvent;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/**
 * HMP on a terminal ({@code -monitor stdio}): QEMU's banner and {@code (qemu) } prompt on a JLine
 * line editor with history kept across runs ({@link dev.strata.monitor.Machine#historyFile}) and
 * tab completion ({@link HmpCompleter}). Ctrl-C drops the line being typed; Ctrl-D and
 * {@code quit} leave: the images are flushed and closed by {@code Machine.quit()}. Asynchronous
 * text (a job finished, an I/O error) is printed above the prompt, the half-typed line kept.
 * While block jobs run, a status line at the bottom shows a progress bar for each
 * ({@link JobStatusLine}; only when built with the machine's job manager, not on dumb terminals).
 * The launcher starts it on top of the machine's {@link Monitor}.
 *
 * <p>Threads: {@link #run} owns the terminal's reader; {@link #asyncText} may come from any
 * thread and goes through {@link LineReader#printAbove}, which JLine synchronises.
 */
public final class JLineConsole implements EventBus.Listener, AutoCloseable {

    private final Monitor monitor;
    private final JobManager jobs;
    private final Terminal terminal;
    private final LineReader reader;

    /** A console without job progress bars. */
    public JLineConsole(Monitor monitor, Terminal terminal) {
        this(monitor, null, terminal);
    }

    /** A console that draws the progress of the jobs of {@code jobs} (null: none) in its status line. */
    public JLineConsole(Monitor monitor, JobManager jobs, Terminal terminal) {
        this.monitor = monitor;
        this.jobs = jobs;
        this.terminal = terminal;
        DefaultParser parser = new DefaultParser();
        parser.setEscapeChars(new char[0]);
        Path history = monitor.machine().historyFile();
        this.reader = LineReaderBuilder.builder()
                .terminal(terminal)
                .appName("strata")
                .parser(parser)
                .completer(new HmpCompleter(monitor.registry(), monitor.machine()))
                .variable(LineReader.HISTORY_FILE, history)
                .variable(LineReader.HISTORY_SIZE, 1000)
                .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)
                .option(LineReader.Option.AUTO_FRESH_LINE, true)
                .build();
    }

    /** A console on the process's own terminal (stdin/stdout); {@code jobs} as in the constructor. */
    public static JLineConsole onSystemTerminal(Monitor monitor, JobManager jobs) throws IOException {
        Terminal t = TerminalBuilder.builder().system(true).name("strata").build();
        return new JLineConsole(monitor, jobs, t);
    }

    /** Runs until quit or end of input; then the machine has been told to quit. */
    public void run() {
        PrintWriter w = terminal.writer();
        w.println(HmpSocketSession.BANNER);
        w.flush();
        JobStatusLine progress = jobs == null ? null : JobStatusLine.startOn(terminal, jobs);
        try (AutoCloseable sub = monitor.events().subscribe(this); AutoCloseable bar = progress != null ? progress : () -> { }) {
            while (true) {
                String line;
                try {
                    line = reader.readLine(HmpSocketSession.PROMPT);
                } catch (UserInterruptException e) {
                    continue;
                } catch (EndOfFileException e) {
                    // Ctrl-D: leave as quit does, images flushed
                    monitor.hmp().executeNow("quit");
                    return;
                }
                HmpInterpreter.Result r = monitor.hmp().execute(line);
                w.print(r.output());
                w.flush();
                saveHistory();
                r.context().runAfterReply();
                if (r.context().sessionEnds()) {
                    return;
                }
            }
        } catch (Exception e) {
            // the terminal went away: nothing else to do here
        }
    }

    private void saveHistory() {
        try {
            reader.getHistory().save();
        } catch (IOException | RuntimeException e) {
            // history is a convenience; an unwritable file must not stop the monitor
        }
    }

    @Override
    public void event(QmpEvent event) {
        // QMP events are not shown on HMP
    }

    @Override
    public void asyncText(String text) {
        reader.printAbove(text);
    }

    @Override
    public void close() throws IOException {
        terminal.close();
    }
}
