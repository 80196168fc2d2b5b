package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code strata bench NAME --help} prints how to run every benchmark and runs none of them (some
 * take their first argument as a work folder and used to start a full run in a folder "--help").
 */
class BenchHelpTest {

    @Test
    @Timeout(60)
    void everyBenchmarkAnswersHelpWithoutRunning() throws Exception {
        BenchCatalog catalog = new BenchCatalog(getClass().getClassLoader());
        Map<String, String> all = catalog.available();
        assertTrue(all.size() >= 10, "benchmarks found: " + all.keySet());
        PrintStream stdout = System.out;
        for (String name : all.keySet()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int rc;
            try {
                rc = catalog.run(name, new String[] {"--help"}, new PrintStream(err, true, StandardCharsets.UTF_8));
            } finally {
                System.setOut(stdout);
            }
            String text = out.toString(StandardCharsets.UTF_8);
            assertEquals(0, rc, name + ": " + err.toString(StandardCharsets.UTF_8));
            assertTrue(text.contains("strata bench " + name), name + " printed: " + text);
            assertFalse(Files.exists(Path.of("--help")), name + " made a work folder named --help");
        }
    }
}
