package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The boundary checker itself: it must catch real references and ignore comments and strings. */
class ModuleBoundariesSelfTest {

    private static String check(String module, boolean test, String code) {
        var refs = ModuleBoundariesTest.references(ModuleBoundariesTest.stripCommentsAndStrings(code));
        for (String r : refs) {
            String v = ModuleBoundariesTest.violation(new ModuleBoundariesTestSource(module, test).source(), r);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    @Test
    void catchesImportsAndQualifiedNames() {
        assertNotNull(check("device", false, "import org.jline.reader.LineReader;"));
        assertNotNull(check("guest-harness", false, "var r = new com.lmax.disruptor.RingBuffer<>();"));
        assertNotNull(check("device", false, "import dev.strata.jobs.JobManager;"));
        assertNotNull(check("jobs", false, "import dev.strata.device.VirtioBlk;"));
        assertNotNull(check("blockdrv", false, "import com.google.common.collect.Lists;"));
        assertNotNull(check("blockdrv", false, "import dev.strata.monitor.Machine;"));
        assertNotNull(check("jobs", false, "import dev.strata.monitor.Machine;"));
        assertNull(check("monitor", false, "import com.fasterxml.jackson.databind.ObjectMapper;"));
        assertNull(check("blockdrv", true, "import org.junit.jupiter.api.Test;"));
        assertNull(check("blockdrv", false, "import org.slf4j.Logger; import java.nio.ByteBuffer;"));
    }

    @Test
    void ignoresCommentsAndStrings() {
        assertNull(check("device", false, "// com.lmax is fine in device but org.jline is not, said a comment\n int x;"));
        assertNull(check("jobs", false, "/* dev.strata.device.X */ String s = \"org.jline.reader\"; char c = '\"';"));
        assertNull(check("jobs", false, "String t = \"\"\"\n   com.fasterxml.jackson\n \"\"\";"));
        assertEquals("JLine and Jackson belong to monitor", check("jobs", false, "String s = \"x\"; org.jline.Foo f;"));
    }

    @Test
    void monitorWiringRules() {
        String command = "monitor/src/main/java/dev/strata/monitor/jobs/StreamCommands.java";
        String monitor = "monitor/src/main/java/dev/strata/monitor/Monitor.java";
        assertNotNull(inMonitor(command, "dev.strata.monitor.hmp.HmpParser"), "a command borrowing HMP's parser");
        assertNotNull(inMonitor(monitor, "dev.strata.monitor.hmp.JLineConsole"), "the monitor knowing a front end");
        assertNotNull(inMonitor(monitor, "java.util.ServiceLoader"), "service loading");
        assertNull(inMonitor(monitor, "dev.strata.monitor.hmp.HmpInterpreter"));
        assertNull(inMonitor(command, "dev.strata.monitor.Sizes"));
    }

    private static String inMonitor(String file, String ref) {
        return ModuleBoundariesTest.violation(new ModuleBoundariesTest.Source("monitor", false, Path.of(file), ""), ref);
    }

    /** Builds the checker's private source record through its accessible constructor. */
    private record ModuleBoundariesTestSource(String module, boolean test) {
        ModuleBoundariesTest.Source source() {
            return new ModuleBoundariesTest.Source(module, test, Path.of("X.java"), "");
        }
    }

    @Test
    void listsEveryModule() {
        assertEquals(5, List.of("blockdrv", "device", "jobs", "monitor", "guest-harness").size());
    }
}
