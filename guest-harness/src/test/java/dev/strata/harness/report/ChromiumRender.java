package dev.strata.harness.report;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;

/**
 * Renders an SVG file in headless Chromium and counts the pixels drawn in a given colour, so a
 * test can tell that a line is really drawn, not just present in the file. Skips loudly when
 * Chromium is not installed ({@code .ci/run} installs it).
 */
public final class ChromiumRender {

    private final BufferedImage image;

    private ChromiumRender(BufferedImage image) {
        this.image = image;
    }

    /** Screenshots {@code svg} at the report's width into {@code work}. */
    public static ChromiumRender of(Path svg, Path work) throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        Assumptions.assumeTrue(Files.isExecutable(chromium),
                "chromium is not installed (apt-get install chromium): LOUDLY skipping the browser rendering test");
        Files.createDirectories(work);
        Path png = work.resolve(svg.getFileName() + ".png");
        Process p = new ProcessBuilder(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + work.resolve("profile"), "--screenshot=" + png,
                "--window-size=" + SvgReport.W + ",1100", svg.toUri().toString()))
                .redirectErrorStream(true).redirectOutput(work.resolve("chromium.log").toFile()).start();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "chromium did not finish");
        assertTrue(Files.exists(png) && Files.size(png) > 1000, "no screenshot: " + Files.readString(work.resolve("chromium.log")));
        return new ChromiumRender(ImageIO.read(new File(png.toString())));
    }

    public int width() {
        return image.getWidth();
    }

    /**
     * Pixels whose colour is {@code rgb} or an anti-aliased blend of it with the white background
     * (each channel on the line from the colour to white, within a tolerance), inside the rows
     * {@code [top, bottom)}. Edge pixels count because exact-colour counts vary with the renderer.
     */
    public int pixels(int rgb, int top, int bottom) {
        int n = 0;
        for (int y = Math.max(0, top); y < Math.min(bottom, image.getHeight()); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if (blendOf(image.getRGB(x, y) & 0xffffff, rgb)) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Whether {@code px} is the colour (each channel within 12), or a * colour + (1 - a) * white for some a >= 0.35. */
    static boolean blendOf(int px, int colour) {
        boolean exact = true;
        for (int shift = 0; shift <= 16; shift += 8) {
            exact &= Math.abs(((px >> shift) & 0xff) - ((colour >> shift) & 0xff)) <= 12;
        }
        if (exact) {
            return true;
        }
        double alpha = -1;
        for (int shift = 0; shift <= 16; shift += 8) {
            int c = (colour >> shift) & 0xff;
            int p = (px >> shift) & 0xff;
            if (c < 200) {
                alpha = (255.0 - p) / (255.0 - c);
                break;
            }
        }
        if (alpha < 0.35) {
            return false;
        }
        for (int shift = 0; shift <= 16; shift += 8) {
            int c = (colour >> shift) & 0xff;
            int p = (px >> shift) & 0xff;
            double want = alpha * c + (1 - alpha) * 255;
            if (Math.abs(p - want) > 14) {
                return false;
            }
        }
        return true;
    }
}
