package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.monitor.CommandReference;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * docs/commands.md is generated from the registry of a machine the launcher built, so it lists
 * exactly the command sets {@link MachineMonitor} wires; this fails when it is stale and says how
 * to regenerate.
 */
@Timeout(30)
class CommandReferenceTest {

    @Test
    void docsCommandsMdIsCurrent() throws Exception {
        String root = System.getProperty("strata.repo.root", "..");
        Path doc = Path.of(root, "docs", "commands.md");
        String want;
        MachineConfig bare = new CommandLineParser().parse(List.of("-nodefaults"));
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        try (StrataMachine m = new MachineBuilder(new ByteArrayInputStream(new byte[0]), quiet, quiet).build(bare)) {
            want = CommandReference.render(m.monitor().registry());
        }
        if (Boolean.getBoolean("strata.regenerate")) {
            Files.createDirectories(doc.getParent());
            Files.writeString(doc, want);
        }
        assertTrue(Files.exists(doc), "docs/commands.md is missing; generate it with: " + CommandReference.REGENERATE);
        assertEquals(want, Files.readString(doc), "docs/commands.md is stale; regenerate it with: " + CommandReference.REGENERATE);
        assertTrue(want.contains("| `snapshot_blkdev` |") && want.contains("| `blockdev-snapshot-sync` |"), want);
    }
}
