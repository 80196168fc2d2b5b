package dev.strata.harness.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.harness.launcher.CommandLineParser;
import dev.strata.harness.launcher.DemoMachine;
import dev.strata.harness.launcher.MachineBuilder;
import dev.strata.harness.launcher.MachineConfig;
import dev.strata.harness.launcher.StrataMachine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the real demo machine, a trainee at the prompt can see the guest keep working while a job
 * changes the chain: {@code info guest} and {@code info chain} through the machine's own monitor,
 * as text and as QMP JSON, during a stream slowed down to watch.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WatchOnDemoMachineTest {

    @TempDir
    Path dir;

    @Test
    void guestKeepsWorkingWhileTheChainChanges() throws Exception {
        DemoMachine.createChain(dir);
        MachineConfig c = new CommandLineParser().parse(DemoMachine.commandLine(dir));
        try (StrataMachine m = new MachineBuilder(new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream())).build(c)) {
            Thread.sleep(1200);
            String hmp = m.monitor().hmp().executeNow("block_stream virtio0 8 file-A.img");
            assertEquals("", hmp);
            Thread.sleep(1000);
            List<String> chain = m.monitor().hmp().executeNow("info chain").lines().toList();
            assertEquals("[A] <- [B] <- [C] <- [D] <- [E] <- virtio0", chain.get(0));
            assertTrue(chain.get(1).matches(" {7}'=+ stream virtio0 \\d+% =+>"), chain.get(1));
            assertTrue(chain.get(2).matches("  \\[A\\] node-A  .*/file-A.img \\(qcow2\\)  9\\.0 MiB allocated of 128\\.0 MiB"), chain.get(2));

            try (InProcessQmp qmp = new InProcessQmp(m.monitor())) {
                qmp.execute("{\"execute\": \"qmp_capabilities\"}");
                String g1 = qmp.execute("{\"execute\": \"x-strata-query-guest\"}");
                assertTrue(g1.contains("\"workload\": \"virtio0-randrw\"") && g1.contains("\"running\": true"), g1);
                assertTrue(number(g1, "iops") > 500, "the guest works during the stream: " + g1);
                assertTrue(number(g1, "blocks-checked") > 0, g1);
                assertEquals(0, number(g1, "verify-failures"), g1);
                Thread.sleep(300);
                List<String> table = m.monitor().hmp().executeNow("info guest").lines().toList();
                assertTrue(table.get(1).startsWith("virtio0-randrw     running  "), table.get(1));
                assertTrue(table.get(1).endsWith(" blocks checked, 0 failures"), table.get(1));
                String g2 = qmp.execute("{\"execute\": \"x-strata-query-guest\"}");
                assertTrue(number(g2, "operations") > number(g1, "operations"), "operations keep growing");

                String chainJson = qmp.execute("{\"execute\": \"x-strata-query-chain\"}");
                assertTrue(chainJson.contains("\"layers\": [\"B\", \"C\", \"D\", \"E\"]"), chainJson);
                assertTrue(number(chainJson, "percent") < 100, "8 MiB/s over 24 MiB: still running after a second");
            }
        }
    }

    private static double number(String json, String key) {
        Matcher mt = Pattern.compile("\"" + Pattern.quote(key) + "\": ([0-9.]+)").matcher(json);
        assertTrue(mt.find(), key + " in " + json);
        return Double.parseDouble(mt.group(1));
    }
}
