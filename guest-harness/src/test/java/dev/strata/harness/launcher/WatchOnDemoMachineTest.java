package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.monitor.CommandContext;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
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

            JsonNode g1 = qmp(m, "x-strata-query-guest").get(0);
            assertEquals("virtio0-randrw", g1.get("workload").asText());
            assertTrue(g1.get("running").asBoolean());
            assertTrue(g1.get("iops").asDouble() > 500, "the guest works during the stream: " + g1);
            assertTrue(g1.get("blocks-checked").asLong() > 0, g1.toString());
            assertEquals(0, g1.get("verify-failures").asLong());
            Thread.sleep(300);
            List<String> table = m.monitor().hmp().executeNow("info guest").lines().toList();
            assertTrue(table.get(1).startsWith("virtio0-randrw     running  "), table.get(1));
            assertTrue(table.get(1).endsWith(" blocks checked, 0 failures"), table.get(1));
            JsonNode g2 = qmp(m, "x-strata-query-guest").get(0);
            assertTrue(g2.get("operations").asLong() > g1.get("operations").asLong(), "operations keep growing");

            JsonNode job = qmp(m, "x-strata-query-chain").get(0).get("jobs").get(0);
            assertEquals("[\"B\",\"C\",\"D\",\"E\"]", job.get("layers").toString());
            assertTrue(job.get("percent").asInt() < 100, "8 MiB/s over 24 MiB: still running after a second");
        }
    }

    private static JsonNode qmp(StrataMachine m, String command) {
        CommandContext ctx = new CommandContext(m, m.monitor().registry(), m.monitor().events(), new StringBuilder());
        return m.monitor().registry().invoke(command, null, ctx);
    }
}
