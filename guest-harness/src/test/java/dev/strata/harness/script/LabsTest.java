package dev.strata.harness.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.harness.report.ChromiumRender;
import dev.strata.harness.report.SvgReportBrowserTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * Every lab script in docs/labs runs to PASSED on a real in-process machine, as a learner would
 * run it. Runs go to {@code guest-harness/target/lab-runs/<lab>/} and each lab's timeline is
 * copied next to its run folder as {@code <lab>.svg}, so CI keeps them; the timeline of
 * {@value #CHECKED_IN_BROWSER} is then opened in headless Chromium, which must draw its lines.
 */
class LabsTest {

    /** A short lab with a job long enough to draw: a mirror that goes ready and is completed. */
    static final String CHECKED_IN_BROWSER = "04-mirror";
    /** The lab with two machines: its timeline must show both. */
    static final String MIGRATION = "08-migrate-storage";

    static Path labs() {
        return Path.of(System.getProperty("strata.repo.root", "..")).resolve("docs/labs");
    }

    static Path runs() {
        return Path.of(System.getProperty("strata.repo.root", "..")).resolve("guest-harness/target/lab-runs");
    }

    @TestFactory
    @Timeout(600)
    Stream<DynamicTest> everyLabPasses() throws IOException {
        List<Path> scripts;
        try (Stream<Path> s = Files.list(labs())) {
            scripts = s.filter(p -> p.toString().endsWith(".strata")).sorted().toList();
        }
        assertTrue(scripts.size() >= 8, "expected the eight labs in " + labs());
        List<DynamicTest> tests = new ArrayList<>();
        for (Path script : scripts) {
            tests.add(DynamicTest.dynamicTest(script.getFileName().toString(), () -> runLab(script)));
        }
        tests.add(DynamicTest.dynamicTest("the timeline of " + MIGRATION + " shows both ends of the link", () -> {
            String svg = Files.readString(runs().resolve(MIGRATION + ".svg"));
            assertTrue(svg.contains("2 machines: src, dst"), "both machines named in the header");
            assertTrue(svg.contains("data-series=\"src virtio0-randrw\""), "the source guest's line");
            assertTrue(svg.contains("data-series=\"dst remote0 writes received\""), "the writes arriving at the destination");
            assertTrue(svg.contains("BLOCK_JOB_READY virtio0") && svg.contains("virtio0 — completed"), "the mirror, ready and completed");
        }));
        tests.add(DynamicTest.dynamicTest("chromium draws the timeline of " + CHECKED_IN_BROWSER, () -> {
            Path svg = runs().resolve(CHECKED_IN_BROWSER + ".svg");
            assertTrue(Files.exists(svg), "the lab did not leave its timeline at " + svg);
            ChromiumRender r = ChromiumRender.of(svg, runs().resolve("chromium"));
            SvgReportBrowserTest.assertLinesDrawn(r, 300);
        }));
        return tests.stream();
    }

    private static void runLab(Path script) throws IOException {
        String name = script.getFileName().toString().replaceFirst("\\.strata$", "");
        Path dir = runs().resolve(name);
        deleteTree(dir);
        Files.deleteIfExists(runs().resolve(name + ".svg"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = ScenarioCommand.run(new String[] {"--dir", dir.toString(), script.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String log = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
        Files.writeString(runs().resolve(name + ".log"), log);
        assertEquals(0, rc, script + " failed:\n" + log);
        assertTrue(!log.contains("\r"), "an unattended run draws no progress bar");
        if (Files.readString(script).contains("\nreport ")) {
            Path timeline = dir.resolve("timeline.svg");
            assertTrue(Files.size(timeline) > 1000, "the report was not written");
            Files.copy(timeline, runs().resolve(name + ".svg"), StandardCopyOption.REPLACE_EXISTING);
        }
        // the images are the bulk of a run and tell CI nothing the log and timeline don't
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().matches(".*\\.(img|qcow2|raw)$")).toList()) {
                Files.delete(f);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
