package dev.strata.harness.script;

import java.io.PrintStream;
import java.util.List;

/**
 * The job progress bar of an attended run: one line rewritten in place ({@code \r}) while the run
 * waits, erased when the wait ends. Unattended runs (CI logs) get {@link #NONE}, which draws
 * nothing, so a log holds no carriage-return noise. Called on the runner's thread only.
 */
class ProgressBar {

    /** Draws nothing. */
    static final ProgressBar NONE = new ProgressBar(null);

    private final PrintStream out;
    private int shownWidth;

    ProgressBar(PrintStream out) {
        this.out = out;
    }

    /** Shows the bars of the running jobs (joined on one line), replacing what was shown. */
    void show(List<String> jobLines) {
        if (out == null) {
            return;
        }
        String line = jobLines.isEmpty() ? "" : "  " + String.join("  |  ", jobLines);
        out.print("\r" + line + " ".repeat(Math.max(0, shownWidth - line.length())));
        out.flush();
        shownWidth = line.length();
    }

    /** Erases the bar, leaving the cursor at the start of an empty line. */
    void clear() {
        if (out == null || shownWidth == 0) {
            return;
        }
        out.print("\r" + " ".repeat(shownWidth) + "\r");
        out.flush();
        shownWidth = 0;
    }
}
