package dev.strata.harness.script;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

/**
 * The gate of {@code strata run --step}: before each step that does something, prints the script
 * line it will run (with {@code $DIR} filled in) and waits for Enter; {@code q} then Enter, or end
 * of input, ends the run. Checks ({@code expect}) and narration ({@code echo}) run without a stop.
 *
 * <p>Called on the runner's thread only.
 */
final class AttendedGate implements StepGate {

    private final List<String> sourceLines;
    private final String dir;
    private final BufferedReader in;
    private final PrintStream out;

    AttendedGate(List<String> sourceLines, String dir, BufferedReader in, PrintStream out) {
        this.sourceLines = sourceLines;
        this.dir = dir;
        this.in = in;
        this.out = out;
    }

    @Override
    public boolean beforeStep(Step step, int number, int count) {
        if (step instanceof Step.Expect || step instanceof Step.Echo) {
            return true;
        }
        String line = step.line() - 1 < sourceLines.size() ? sourceLines.get(step.line() - 1).strip() : step.toString();
        out.printf("%n[step %d/%d, line %d] %s%n", number, count, step.line(), line.replace("$DIR", dir));
        out.print("  Enter runs it, q quits > ");
        out.flush();
        try {
            String answer = in.readLine();
            if (answer == null || answer.strip().equalsIgnoreCase("q")) {
                out.println();
                return false;
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
