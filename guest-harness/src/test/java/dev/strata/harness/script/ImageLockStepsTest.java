package dev.strata.harness.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A script's image steps take QEMU's image locks: {@code img create} and {@code fill} on an image
 * another writer holds are refused with QEMU's message, and the image is left as it was — never
 * two writers silently mixed (three lab 6 runs sharing a folder once corrupted each other's images).
 */
@Timeout(120)
class ImageLockStepsTest {

    @TempDir
    Path dir;

    private String run(String script, int wantRc) throws Exception {
        Path f = dir.resolve("s.strata");
        Files.writeString(f, script);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = ScenarioCommand.run(new String[] {"--dir", dir.toString(), f.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(out, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(wantRc, rc, text);
        return text;
    }

    private byte[] imageBytes() throws Exception {
        return Files.readAllBytes(dir.resolve("disk.qcow2"));
    }

    @Test
    void stepsRefuseAnImageThisProcessIsWriting() throws Exception {
        run("img create -f qcow2 $DIR/disk.qcow2 16M\nfill $DIR/disk.qcow2 0x5a 0 1M\n", 0);
        byte[] before = imageBytes();
        BlockGraph holder = new BlockGraph();
        try {
            holder.open(BlockOptions.empty().with("file", dir.resolve("disk.qcow2").toString()).with("driver", "qcow2"));
            String create = run("img create -f qcow2 $DIR/disk.qcow2 16M\n", 1);
            assertTrue(create.contains("Failed to get \"write\" lock"), create);
            String fill = run("fill $DIR/disk.qcow2 0x11 0 64k\n", 1);
            assertTrue(fill.contains("Failed to get \"write\" lock"), fill);
        } finally {
            holder.closeAll();
        }
        assertTrue(java.util.Arrays.equals(before, imageBytes()), "the image was not touched");
        run("fill $DIR/disk.qcow2 0x11 0 64k\ncheck-pattern $DIR/disk.qcow2 0x11 0 64k\n", 0);
    }

    @Test
    void stepsRefuseAnImageQemuIoIsWriting() throws Exception {
        Assumptions.assumeTrue(onPath("qemu-io"), "qemu-io is not installed (apt-get install qemu-utils): LOUDLY skipping");
        run("img create -f qcow2 $DIR/disk.qcow2 16M\n", 0);
        byte[] before = imageBytes();
        // qemu-io holds the image read-write until its stdin closes
        Process qemuIo = new ProcessBuilder(List.of("qemu-io", "-f", "qcow2", dir.resolve("disk.qcow2").toString()))
                .redirectErrorStream(true).start();
        try {
            qemuIo.getOutputStream().write("read 0 512\n".getBytes(StandardCharsets.US_ASCII));
            qemuIo.getOutputStream().flush();
            String banner = readUntil(qemuIo, "ops/sec");
            assertTrue(banner.contains("read 512/512 bytes"), banner);
            String create = run("img create -f qcow2 $DIR/disk.qcow2 16M\n", 1);
            assertTrue(create.contains("Failed to get \"write\" lock\nIs another process using the image ["), create);
            String fill = run("fill $DIR/disk.qcow2 0x11 0 64k\n", 1);
            assertTrue(fill.contains("Failed to get \"write\" lock"), fill);
        } finally {
            qemuIo.getOutputStream().close();
            assertTrue(qemuIo.waitFor(30, TimeUnit.SECONDS));
        }
        assertTrue(java.util.Arrays.equals(before, imageBytes()), "the image was not touched");
    }

    private static String readUntil(Process p, String marker) throws Exception {
        StringBuilder sb = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        var in = p.getInputStream();
        while (!sb.toString().contains(marker) && System.nanoTime() < deadline) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            sb.append((char) c);
        }
        return sb.toString();
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }
}
