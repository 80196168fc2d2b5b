package dev.strata.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** docs/commands.md is generated from the registry; this fails when it is stale and says how to regenerate. */
@Timeout(30)
class CommandReferenceTest {

    @Test
    void docsCommandsMdIsCurrent() throws Exception {
        String root = System.getProperty("strata.repo.root", "..");
        Path doc = Path.of(root, "docs", "commands.md");
        String want = CommandReference.render();
        if (Boolean.getBoolean("strata.regenerate")) {
            Files.createDirectories(doc.getParent());
            Files.writeString(doc, want);
        }
        assertTrue(Files.exists(doc), "docs/commands.md is missing; generate it with: " + CommandReference.REGENERATE);
        assertEquals(want, Files.readString(doc), "docs/commands.md is stale; regenerate it with: " + CommandReference.REGENERATE);
        assertTrue(want.contains("| `snapshot_blkdev` |") && want.contains("| `blockdev-snapshot-sync` |"), want);
    }
}
