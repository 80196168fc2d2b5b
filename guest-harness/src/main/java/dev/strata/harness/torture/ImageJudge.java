package dev.strata.harness.torture;

import dev.strata.harness.img.ImgTool;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metadata half of a crash verdict, with {@code qemu-img} as the judge: {@code qemu-img check}
 * must find no corruption; leaked clusters are repaired with Strata's own
 * {@code strata img check -r leaks}, after which {@code qemu-img check} must be clean.
 *
 * <p>Stateless; any thread.
 */
public final class ImageJudge {

    /** What checking one image found: corruption, leaks found and whether their repair left it clean. */
    public record Check(Path image, int qemuStatus, long leaks, boolean repaired, String detail) {
        /** No corruption, and any leak repaired to a clean image. */
        public boolean ok() {
            return qemuStatus == 0 || (qemuStatus == 3 && repaired);
        }
    }

    private static final Pattern LEAKS = Pattern.compile("(\\d+) leaked clusters? w(?:as|ere) found");

    private ImageJudge() {
    }

    /** {@code qemu-img check}, then (for leaks) {@code strata img check -r leaks} and {@code qemu-img check} again. */
    public static Check check(Path image) throws IOException {
        Tools.Run first = Tools.run(image.getParent(), "qemu-img", "check", "-f", "qcow2", image.toString());
        long leaks = 0;
        Matcher m = LEAKS.matcher(first.output());
        if (m.find()) {
            leaks = Long.parseLong(m.group(1));
        }
        if (first.status() != 3) {
            return new Check(image, first.status(), leaks, false, first.output().strip());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rs = ImgTool.run(new String[] {"check", "-r", "leaks", "-f", "qcow2", image.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(out, true, StandardCharsets.UTF_8));
        Tools.Run again = Tools.run(image.getParent(), "qemu-img", "check", "-f", "qcow2", image.toString());
        return new Check(image, 3, leaks, again.status() == 0,
                "strata img check -r leaks exited " + rs + ": " + out.toString(StandardCharsets.UTF_8).strip()
                        + " / qemu-img check after repair exited " + again.status() + ": " + again.output().strip());
    }

    /**
     * The backing file {@code qemu-img info} names for {@code image} ("" for none), after checking
     * that {@code qemu-img info --backing-chain} opens the whole chain.
     *
     * @throws IOException with qemu-img's words when the chain does not open
     */
    public static String backingOf(Path image) throws IOException {
        Tools.must(image.getParent(), "qemu-img", "info", "--backing-chain", image.toString());
        String info = Tools.must(image.getParent(), "qemu-img", "info", image.toString());
        for (String line : info.split("\n")) {
            if (line.startsWith("backing file: ")) {
                String v = line.substring("backing file: ".length()).strip();
                int paren = v.indexOf(" (actual path:");
                return paren >= 0 ? v.substring(0, paren) : v;
            }
        }
        return "";
    }

    /** True if {@code image} exists and is not empty. */
    public static boolean present(Path image) {
        try {
            return Files.size(image) > 0;
        } catch (IOException e) {
            return false;
        }
    }
}
