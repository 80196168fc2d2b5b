package dev.strata.harness.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scenario with a second machine ({@code machine dst …}): steps without {@code on} talk to the
 * first machine, {@code on dst:} to the second, each with its own monitor, QMP session and
 * events; and the mistakes a script can make with names fail the step with a clear line.
 */
@Timeout(120)
class TwoMachineScenarioTest {

    @TempDir
    Path dir;

    private record Run(int rc, String log) {
    }

    private Run run(String script) throws Exception {
        Path file = dir.resolve("two.strata");
        Files.writeString(file, script);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        int rc = ScenarioCommand.run(new String[] {"--dir", dir.resolve("run").toString(), file.toString()}, ps, ps);
        return new Run(rc, out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void stepsReachTheMachineTheyAreAddressedTo() throws Exception {
        Run r = run("""
                img create -f qcow2 $DIR/a.qcow2 16M
                img create -f qcow2 $DIR/b.qcow2 16M
                machine -drive file=$DIR/a.qcow2,if=none,id=first0
                machine dst -drive file=$DIR/b.qcow2,if=none,id=second0
                hmp info block
                expect first0
                expect-not second0
                on dst: hmp info block
                expect second0
                expect-not first0
                on dst: qmp {"execute": "nbd-server-start", "arguments": {"addr": {"type": "unix", "data": {"path": "$DIR/n.sock"}}}}
                on dst: qmp {"execute": "block-export-add", "arguments": {"type": "nbd", "id": "e", "node-name": "second0", "writable": true}}
                qmp! {"execute": "block-export-del", "arguments": {"id": "e"}}
                expect Export 'e' is not found
                on dst: qmp {"execute": "block-export-del", "arguments": {"id": "e"}}
                on dst: wait event BLOCK_EXPORT_DELETED 10s
                report timeline.svg
                """);
        assertEquals(0, r.rc(), r.log());
        assertTrue(r.log().contains("[dst] (qemu) info block"), r.log());
        String svg = Files.readString(dir.resolve("run/timeline.svg"));
        assertTrue(svg.contains("2 machines: main, dst"), "the first machine has no name: it is 'main' in the report");
        assertTrue(svg.contains("BLOCK_EXPORT_DELETED"), "dst's event is in its strip");
    }

    @Test
    void aSecondMachineNeedsAName() throws Exception {
        Run r = run("""
                machine -S
                machine -S
                """);
        assertEquals(1, r.rc());
        assertTrue(r.log().contains("two.strata:2: a machine is already running; name the next one: machine NAME OPTIONS…"), r.log());
    }

    @Test
    void namesMustBeKnownAndUnique() throws Exception {
        Run unknown = run("""
                machine src -S
                on dts: hmp info status
                """);
        assertEquals(1, unknown.rc());
        assertTrue(unknown.log().contains("two.strata:2: no machine called 'dts' (start it with: machine dts OPTIONS…)"), unknown.log());
        Run twice = run("""
                machine src -S
                machine dst -S
                machine dst -S
                """);
        assertEquals(1, twice.rc());
        assertTrue(twice.log().contains("two.strata:3: a machine called 'dst' is already running"), twice.log());
        Run none = run("""
                on dst: hmp info status
                """);
        assertTrue(none.log().contains("two.strata:1: no machine is running yet (add a 'machine' step first)"), none.log());
    }

    @Test
    void theFirstMachineMayHaveANameAndIsStillTheDefault() throws Exception {
        Run r = run("""
                machine src -S
                machine dst -S
                hmp info status
                expect paused
                on src: hmp cont
                on dst: hmp info status
                expect paused
                hmp info status
                expect running
                """);
        assertEquals(0, r.rc(), r.log());
    }
}
