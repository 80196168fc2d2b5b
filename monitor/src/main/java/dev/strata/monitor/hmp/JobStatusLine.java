package dev.strata.monitor.hmp;

import dev.strata.jobs.BlockJobInfo;
import dev.strata.jobs.JobManager;
import java.util.ArrayList;
import java.util.List;
import org.jline.terminal.Terminal;
import org.jline.utils.AttributedString;
import org.jline.utils.AttributedStyle;
import org.jline.utils.Status;

/**
 * A progress bar per running block job in the console's bottom status line, refreshed twice a
 * second, so a stream can be watched while the next command is typed. Only on a real terminal:
 * on a dumb terminal or a pipe nothing is drawn. Runs on its own virtual thread; JLine
 * synchronises status updates with the line being edited.
 */
final class JobStatusLine implements AutoCloseable {

    private final Status status;
    private final JobManager jobs;
    private final Thread thread;
    private volatile boolean closed;

    private JobStatusLine(Status status, JobManager jobs) {
        this.status = status;
        this.jobs = jobs;
        this.thread = Thread.ofVirtual().name("hmp-job-status").start(this::loop);
    }

    /** Starts the status line, or returns null where it cannot or should not be drawn. */
    static JobStatusLine startOn(Terminal terminal, JobManager jobs) {
        if (Terminal.TYPE_DUMB.equals(terminal.getType()) || Terminal.TYPE_DUMB_COLOR.equals(terminal.getType())) {
            return null;
        }
        Status s = Status.getStatus(terminal);
        return s == null ? null : new JobStatusLine(s, jobs);
    }

    private void loop() {
        boolean shown = false;
        while (!closed) {
            try {
                List<BlockJobInfo> running = jobs.queryBlockJobs();
                if (!running.isEmpty() || shown) {
                    List<AttributedString> lines = new ArrayList<>();
                    for (BlockJobInfo j : running) {
                        lines.add(new AttributedString(line(j), AttributedStyle.DEFAULT.inverse()));
                    }
                    status.update(lines);
                    shown = !running.isEmpty();
                }
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // a job vanished mid-query or the terminal is going away: try again next tick
            }
        }
    }

    /** The bar of one job, as {@link dev.strata.monitor.watch.JobProgressText} draws it everywhere. */
    static String line(BlockJobInfo j) {
        return dev.strata.monitor.watch.JobProgressText.line(j);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            status.update(List.of());
        } catch (RuntimeException e) {
            // the terminal is closing anyway
        }
    }
}
