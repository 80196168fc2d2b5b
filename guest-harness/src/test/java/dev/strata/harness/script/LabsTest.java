package dev.strata.harness.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every lab script in docs/labs runs to PASSED on a real in-process machine, as a learner would run it. */
class LabsTest {

    @TempDir
    Path work;

    static Path labs() {
        return Path.of(System.getProperty("strata.repo.root", "..")).resolve("docs/labs");
    }

    @TestFactory
    @Timeout(600)
    Stream<DynamicTest> everyLabPasses() throws IOException {
        List<Path> scripts;
        try (Stream<Path> s = Files.list(labs())) {
            scripts = s.filter(p -> p.toString().endsWith(".strata")).sorted().toList();
        }
        assertTrue(scripts.size() >= 7, "expected the seven labs in " + labs());
        return scripts.stream().map(script -> DynamicTest.dynamicTest(script.getFileName().toString(), () -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Path dir = work.resolve(script.getFileName().toString());
            int rc = ScenarioCommand.run(new String[] {"--dir", dir.toString(), script.toString()},
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, rc, script + " failed:\n" + out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8));
            if (Files.readString(script).contains("\nreport ")) {
                assertTrue(Files.size(dir.resolve("timeline.svg")) > 1000, "the report was not written");
            }
        }));
    }
}
