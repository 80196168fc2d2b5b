package dev.strata.monitor.hmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(20)
class HmpInterpreterTest {

    @TempDir
    Path dir;
    private TestMachine machine;
    private HmpInterpreter hmp;

    @BeforeEach
    void setUp() {
        machine = new TestMachine(dir);
        hmp = machine.monitor().hmp();
    }

    private String run(String line) {
        return hmp.executeNow(line);
    }

    @Test
    void unknownCommandsEchoWhatWasTyped() {
        assertEquals("unknown command: 'nosuch'\n", run("nosuch foo"));
        assertEquals("unknown command: '  nosuch'\n", run("  nosuch"));
        assertEquals("unknown command: 'info nosuch'\n", run("info nosuch"));
        assertEquals("unknown command: 'nosuch'\n", run("help nosuch"));
        assertEquals("unknown command: 'info nosuch'\n", run("help info nosuch"));
        assertEquals("", run(""));
        assertEquals("", run("   "));
    }

    @Test
    void parseErrorsNameTheCommandAsTyped() {
        assertEquals("cont|c: extraneous characters at the end of line\nTry \"help cont\" for more information\n", run("cont x"));
        assertEquals("cont|c: extraneous characters at the end of line\nTry \"help c\" for more information\n", run("c x"));
        assertEquals("status: extraneous characters at the end of line\nTry \"help   info   status\" for more information\n",
                run("  info   status  -x "));
    }

    @Test
    void helpComesFromTheRegistry() {
        assertEquals("cont|c  -- resume the guest CPUs\n", run("help cont"));
        assertEquals("cont|c  -- resume the guest CPUs\n", run("help c"));
        assertEquals("cont|c  -- resume the guest CPUs\n", run("help  cont "));
        assertEquals("quit|q  -- flush and close every image, then exit\n", run("help quit"));
        assertEquals("help|? [cmd] -- list the commands, or describe one\n", run("help help"));
        String info = run("help info");
        assertTrue(info.contains("info status  -- print whether the guest is running or paused\n"), info);
        assertTrue(info.contains("info version  -- print the QEMU interface version and the Strata package\n"), info);
        assertEquals(info, run("info"));
        String all = run("help");
        assertTrue(all.contains("info|i [subcommand] -- print a part of the machine state (see 'help info')\n"), all);
        assertTrue(all.indexOf("cont|c") < all.indexOf("quit|q"), "sorted like QEMU's table");
    }

    @Test
    void statusStopContVersion() {
        assertEquals("VM status: paused (prelaunch)\n", run("info status"));
        assertEquals("", run("cont"));
        assertEquals("VM status: running\n", run("info status"));
        assertEquals("", run("stop"));
        assertEquals("VM status: paused\n", run("i status"));
        assertEquals("7.2.22Strata 0.1.0\n", run("info version"));
        assertEquals("No active jobs\n", run("info block-jobs"));
    }

    @Test
    void quitCallsTheMachineAfterTheOutput() {
        HmpInterpreter.Result r = hmp.execute("quit");
        assertEquals("", r.output());
        assertTrue(!machine.quitCalled());
        r.context().runAfterReply();
        assertTrue(machine.quitCalled());
    }
}
