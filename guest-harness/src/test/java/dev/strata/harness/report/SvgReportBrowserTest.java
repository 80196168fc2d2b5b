package dev.strata.harness.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The report opens in a real headless browser and draws what it should: lines, job bars, chain boxes. */
@Timeout(120)
class SvgReportBrowserTest {

    @TempDir
    Path dir;

    @Test
    void chromiumRendersTheReport() throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        Assumptions.assumeTrue(Files.isExecutable(chromium),
                "chromium is not installed (apt-get install chromium): LOUDLY skipping the browser rendering test");
        Path svg = dir.resolve("report.svg");
        Files.writeString(svg, SvgReport.render(SvgReportTest.sampleRun()));
        Path png = dir.resolve("report.png");
        Process p = new ProcessBuilder(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + dir.resolve("profile"), "--screenshot=" + png,
                "--window-size=1000,900", svg.toUri().toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("chromium.log").toFile()).start();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "chromium did not finish");
        assertTrue(Files.size(png) > 1000, "no screenshot: " + Files.readString(dir.resolve("chromium.log")));
        BufferedImage img = ImageIO.read(new File(png.toString()));
        assertEquals(1000, img.getWidth());
        int iopsBlue = 0;
        int jobGreen = 0;
        int chainTop = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                if (near(rgb, 0x2a6fdb) || blueBlend(rgb)) {
                    iopsBlue++;
                } else if (near(rgb, 0xe4f5ec)) {
                    jobGreen++;
                } else if (near(rgb, 0xfff4d6)) {
                    chainTop++;
                }
            }
        }
        assertTrue(iopsBlue > 50, "the IOPS line is not drawn (" + iopsBlue + " px)");
        assertTrue(jobGreen > 200, "job bars are not drawn (" + jobGreen + " px)");
        assertTrue(chainTop > 200, "the active image box is not drawn (" + chainTop + " px)");
    }

    /**
     * An anti-aliased pixel of the IOPS line: its blue blended with the white background keeps
     * blue well above red. Exact-colour pixels alone vary with the renderer (42 to well over 50
     * for the same SVG), so edge pixels count too; nothing else in the report is blue.
     */
    private static boolean blueBlend(int rgb) {
        int r = (rgb >> 16) & 0xff;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        return b - r > 60 && b > g;
    }

    private static boolean near(int rgb, int want) {
        for (int shift = 0; shift <= 16; shift += 8) {
            if (Math.abs(((rgb >> shift) & 0xff) - ((want >> shift) & 0xff)) > 12) {
                return false;
            }
        }
        return true;
    }
}
