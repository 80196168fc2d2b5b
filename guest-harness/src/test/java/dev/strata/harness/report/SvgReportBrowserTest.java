package dev.strata.harness.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report opens in a real headless browser and draws what it should: an IOPS line, a p99
 * line, a job's progress line and phases, event marks and the chain boxes. (A real lab's report
 * is checked the same way by {@code LabsTest}.)
 */
@Timeout(120)
public class SvgReportBrowserTest {

    @TempDir
    Path dir;

    @Test
    void chromiumRendersEveryPart() throws Exception {
        Path svg = dir.resolve("report.svg");
        Files.writeString(svg, SvgReport.render(SvgReportTest.sampleRun()));
        ChromiumRender r = ChromiumRender.of(svg, dir);
        assertEquals(SvgReport.W, r.width());
        assertLinesDrawn(r, 300);
    }

    /** The parts every report with guest samples and a finished job must show, in pixels of their colours. */
    public static void assertLinesDrawn(ChromiumRender r, int minLinePixels) {
        int all = Integer.MAX_VALUE;
        int iops = r.pixels(0x2a6fdb, 0, all);
        int p99 = r.pixels(0xd9822b, 0, all);
        int progress = r.pixels(0x197a4b, 0, all);
        int running = r.pixels(0x8fdcb4, 0, all);
        int events = r.pixels(0xb03060, 0, all);
        int activeImage = r.pixels(0xfff4d6, 0, all);
        assertTrue(iops > minLinePixels, "the IOPS line is not drawn (" + iops + " px)");
        assertTrue(p99 > minLinePixels, "the p99 line is not drawn (" + p99 + " px)");
        assertTrue(progress > 40, "the job's progress line is not drawn (" + progress + " px)");
        assertTrue(running > 20, "the job's running phase is not drawn (" + running + " px)");
        assertTrue(events > 20, "no event mark is drawn (" + events + " px)");
        assertTrue(activeImage > 200, "the active image box is not drawn (" + activeImage + " px)");
    }
}
