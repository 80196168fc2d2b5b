package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module rules of the architecture, checked on the sources of every module: JLine and
 * Jackson only in monitor, the Disruptor only in device, device and jobs blind to each other,
 * blockdrv on nothing but the JDK and slf4j, and BouncyCastle (PEM parsing for NBD's TLS) only in
 * {@code dev.strata.blockdrv.nbd.tls} (and in tests, which make certificates with it), and the
 * monitor's one-way wiring ({@link #monitorWiring}). Comments and string literals are ignored, so
 * only real code references count. Programs (tools, benchmarks) live in guest-harness, beside the
 * launcher, never in a library module.
 */
class ModuleBoundariesTest {

    private static final Pattern QUALIFIED = Pattern.compile("\\b((?:[a-z_][a-z0-9_]*\\.)+[A-Za-z_][A-Za-z0-9_]*)");

    record Source(String module, boolean test, Path file, String code) {
    }

    @Test
    void modulesOnlyUseWhatTheyMay() throws IOException {
        Path root = Path.of(System.getProperty("strata.repo.root", "..")).toAbsolutePath().normalize();
        List<String> violations = new ArrayList<>();
        int files = 0;
        for (String module : List.of("blockdrv", "device", "jobs", "monitor", "guest-harness")) {
            for (Source s : sources(root, module)) {
                files++;
                for (String ref : references(s.code())) {
                    String why = violation(s, ref);
                    if (why != null) {
                        violations.add(root.relativize(s.file()) + ": " + ref + " (" + why + ")");
                    }
                }
            }
        }
        assertTrue(files > 20, "found only " + files + " source files under " + root);
        assertTrue(violations.isEmpty(), "module boundary violations:\n" + String.join("\n", violations));
    }

    /**
     * Library modules hold only their library: programs (the image tool, benchmarks) live beside the
     * launcher in guest-harness. The one {@code main} allowed below it regenerates
     * {@code docs/commands.md} from monitor's registry, which its own test checks.
     */
    @Test
    void libraryModulesHoldNoPrograms() throws IOException {
        Path root = Path.of(System.getProperty("strata.repo.root", "..")).toAbsolutePath().normalize();
        Pattern main = Pattern.compile("\\bstatic\\s+void\\s+main\\s*\\(");
        List<String> programs = new ArrayList<>();
        for (String module : List.of("blockdrv", "device", "jobs", "monitor")) {
            for (Source s : sources(root, module)) {
                if (!s.test() && main.matcher(s.code()).find() && !s.file().endsWith("CommandReference.java")) {
                    programs.add(root.relativize(s.file()).toString());
                }
            }
        }
        assertTrue(programs.isEmpty(), "programs in library modules (move them to guest-harness):\n" + String.join("\n", programs));
    }

    static String violation(Source s, String name) {
        String m = s.module();
        String ref = name + "."; // so a package name itself ("package dev.strata.blockdrv;") matches its prefix
        if ((ref.startsWith("org.jline.") || ref.startsWith("com.fasterxml.")) && !m.equals("monitor")) {
            return "JLine and Jackson belong to monitor";
        }
        if (ref.startsWith("org.bouncycastle.") && !s.test() && !inPackage(s, "dev.strata.blockdrv.nbd.tls")) {
            return "BouncyCastle belongs to dev.strata.blockdrv.nbd.tls";
        }
        if (ref.startsWith("com.lmax.") && !m.equals("device")) {
            return "the Disruptor belongs to device";
        }
        if (m.equals("device") && ref.startsWith("dev.strata.jobs.")) {
            return "device must not see jobs";
        }
        if (m.equals("jobs") && ref.startsWith("dev.strata.device.")) {
            return "jobs must not see device";
        }
        if (m.equals("blockdrv")) {
            boolean ok = ref.startsWith("java.") || ref.startsWith("javax.") || ref.startsWith("jdk.") || ref.startsWith("sun.")
                    || ref.startsWith("com.sun.management.")
                    // the JDK's own O_DIRECT open option (module jdk.unsupported): cache.direct
                    || ref.startsWith("com.sun.nio.file.")
                    || ref.startsWith("org.slf4j.") || ref.startsWith("dev.strata.blockdrv.")
                    || ref.startsWith("org.bouncycastle.")
                    || (s.test() && (ref.startsWith("org.junit.") || ref.startsWith("org.mockito.") || ref.startsWith("org.opentest4j.")));
            if (!ok && looksLikeForeignPackage(name)) {
                return "blockdrv may use only the JDK, slf4j and itself";
            }
        }
        if (m.equals("monitor") && !s.test()) {
            String why = monitorWiring(s, ref);
            if (why != null) {
                return why;
            }
        }
        if (!m.equals("blockdrv") && ref.startsWith("dev.strata.")) {
            String target = ref.substring("dev.strata.".length()).split("\\.")[0];
            if (m.equals("blockdrv") || (target.equals("harness") && !m.equals("guest-harness"))
                    || (target.equals("monitor") && !List.of("monitor", "guest-harness").contains(m))) {
                return "a module may only use modules below it";
            }
        }
        return null;
    }

    /**
     * The monitor is wired by the launcher and runs one way: no service loading, and only
     * {@code Monitor} (which owns the HMP interpreter) reaches into {@code hmp/} from outside it,
     * so command files take shared argument parsing from {@code dev.strata.monitor} and the
     * monitor never knows the front ends started on it.
     */
    static String monitorWiring(Source s, String ref) {
        if (ref.startsWith("java.util.ServiceLoader.")) {
            return "the launcher wires the monitor's command sets; no ServiceLoader";
        }
        boolean monitorOwnsInterpreter = s.file().getFileName().toString().equals("Monitor.java")
                && (ref.startsWith("dev.strata.monitor.hmp.HmpInterpreter.") || ref.startsWith("dev.strata.monitor.hmp.HmpBuiltins."));
        if (ref.startsWith("dev.strata.monitor.hmp.") && !inPackage(s, "dev.strata.monitor.hmp") && !monitorOwnsInterpreter) {
            return "only hmp/ uses hmp/: shared argument parsing lives in dev.strata.monitor (Sizes)";
        }
        return null;
    }

    private static boolean inPackage(Source s, String pkg) {
        return s.file().toString().replace('\\', '/').contains("/" + pkg.replace('.', '/') + "/");
    }

    /** Only names rooted in a real top-level package count; {@code foo.bar()} on a variable does not. */
    private static boolean looksLikeForeignPackage(String ref) {
        return ref.matches("(com|org|net|io|dev|lombok|kotlin|scala|groovy)\\..*");
    }

    static List<String> references(String code) {
        List<String> refs = new ArrayList<>();
        Matcher m = QUALIFIED.matcher(code);
        while (m.find()) {
            refs.add(m.group(1));
        }
        return refs;
    }

    private static List<Source> sources(Path root, String module) throws IOException {
        List<Source> out = new ArrayList<>();
        for (String kind : List.of("main", "test")) {
            Path dir = root.resolve(module).resolve("src").resolve(kind).resolve("java");
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.filter(p -> p.toString().endsWith(".java")).forEach(p -> {
                    try {
                        out.add(new Source(module, kind.equals("test"), p, stripCommentsAndStrings(Files.readString(p))));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        }
        return out;
    }

    /** Blanks comments, string/char literals and text blocks, keeping code positions. */
    static String stripCommentsAndStrings(String src) {
        StringBuilder b = new StringBuilder(src.length());
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (c == '/' && i + 1 < n && src.charAt(i + 1) == '/') {
                while (i < n && src.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && src.charAt(i + 1) == '*') {
                int end = src.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                b.append(' ');
            } else if (src.startsWith("\"\"\"", i)) {
                int end = src.indexOf("\"\"\"", i + 3);
                i = end < 0 ? n : end + 3;
                b.append("\"\"");
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && src.charAt(j) != c && src.charAt(j) != '\n') {
                    j += src.charAt(j) == '\\' ? 2 : 1;
                }
                i = Math.min(n, j + 1);
                b.append("\"\"");
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }
}
