package dev.strata.harness.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code strata run --step}: a stop before each step showing the line, q ends it; the progress bar only in attended runs. */
@Timeout(120)
class AttendedRunTest {

    @TempDir
    Path dir;

    private static final String SCRIPT = """
            # a slow stream, watched
            img create -f qcow2 $DIR/base.qcow2 16M
            fill $DIR/base.qcow2 0x11 0 4M
            img create -f qcow2 -b base.qcow2 -F qcow2 $DIR/top.qcow2
            machine -drive file=$DIR/top.qcow2,if=virtio
            hmp block_stream virtio0 4M
            expect-not Error
            wait job virtio0 30s
            hmp info block
            """;

    private record Run(int rc, String out, String err) {
    }

    private Run run(String input, boolean step, boolean terminal) throws Exception {
        Path script = dir.resolve("watch.strata");
        Files.writeString(script, SCRIPT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] args = step ? new String[] {"--step", "--dir", dir.resolve("run").toString(), script.toString()}
                : new String[] {"--dir", dir.resolve("run").toString(), script.toString()};
        int rc = ScenarioCommand.run(args, new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), terminal);
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void stopsBeforeEachStepShowingTheLineAndDrawsTheBar() throws Exception {
        Run r = run("\n".repeat(20), true, false);
        assertEquals(0, r.rc(), r.out() + r.err());
        String d = dir.resolve("run").toAbsolutePath().toString();
        assertTrue(r.out().contains("[step 1/8, line 2] img create -f qcow2 " + d + "/base.qcow2 16M\n  Enter runs it, q quits > "), r.out());
        assertTrue(r.out().contains("[step 5/8, line 6] hmp block_stream virtio0 4M\n"), r.out());
        assertFalse(r.out().contains("[step 6/8"), "expect runs without a stop");
        assertTrue(r.out().contains("[step 7/8, line 8] wait job virtio0 30s"), r.out());
        // 4 MiB at 4 MiB/s: a second of waiting, with the bar redrawn in place
        assertTrue(r.out().matches("(?s).*\r  stream virtio0 \\[[#.]{24}\\] +\\d+%  [0-9.]+/16\\.0 MiB  running  limit 4194304 B/s.*"), r.out());
        assertTrue(r.out().contains("PASSED"), r.out());
    }

    @Test
    void qEndsTheRunBeforeTheNextStep() throws Exception {
        Run r = run("\n\nq\n", true, false);
        assertEquals(1, r.rc());
        assertTrue(r.out().contains("STOPPED watch.strata:4: stopped here by the instructor") || r.out().contains("stopped here by the instructor"),
                r.out());
        assertFalse(Files.exists(dir.resolve("run/top.qcow2")), "the third step never ran");
        assertTrue(Files.exists(dir.resolve("run/base.qcow2")));
    }

    @Test
    void endOfInputEndsAnAttendedRunToo() throws Exception {
        Run r = run("", true, false);
        assertEquals(1, r.rc());
        assertFalse(Files.exists(dir.resolve("run/base.qcow2")));
    }

    @Test
    void unattendedRunsDrawNoBarUnlessOnATerminal() throws Exception {
        Run log = run("", false, false);
        assertEquals(0, log.rc(), log.out() + log.err());
        assertFalse(log.out().contains("\r"), "a CI log gets no carriage returns");
        assertFalse(log.out().contains("[step"), log.out());
        Run tty = run("", false, true);
        assertEquals(0, tty.rc(), tty.out() + tty.err());
        assertTrue(tty.out().contains("\r  stream virtio0 ["), "a run on a terminal shows the bar");
        assertFalse(tty.out().contains("[step"), "but does not stop");
    }

    @Test
    void stepAndQuietTogetherIsAUsageError() throws Exception {
        Run r = run("", false, false);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = ScenarioCommand.run(new String[] {"--step", "--quiet", "x.strata"}, new ByteArrayInputStream(new byte[0]),
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8), false);
        assertEquals(2, rc);
        assertEquals("strata run: --step shows each step, --quiet hides them; pick one\n", err.toString(StandardCharsets.UTF_8));
        assertEquals(0, r.rc());
    }
}
