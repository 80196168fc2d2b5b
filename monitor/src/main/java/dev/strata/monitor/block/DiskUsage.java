package dev.strata.monitor.block;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Bytes a host file occupies on disk (st_blocks x 512, QEMU's {@code actual-size} / {@code disk
 * size}). The JDK has no st_blocks, so this asks {@code stat(1)} once for a whole batch of files;
 * when that is impossible the size is unknown and QEMU's "unavailable" is shown instead.
 *
 * <p>Stateless; any thread.
 */
final class DiskUsage {

    private DiskUsage() {
    }

    /** Allocated bytes per file name; files it could not measure are absent. */
    static Map<String, Long> of(Collection<String> files) {
        Map<String, Long> out = new HashMap<>();
        List<String> names = new ArrayList<>(new java.util.LinkedHashSet<>(files));
        names.removeIf(String::isEmpty);
        if (names.isEmpty()) {
            return out;
        }
        List<String> cmd = new ArrayList<>(List.of("stat", "-L", "-c", "%b %B"));
        cmd.add("--");
        cmd.addAll(names);
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            byte[] data = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return out;
            }
            String[] lines = new String(data, StandardCharsets.UTF_8).split("\n");
            // stat prints one line per file it could stat, in order; a failure shifts nothing only if all succeed
            if (p.exitValue() != 0 || lines.length != names.size()) {
                return out;
            }
            for (int i = 0; i < names.size(); i++) {
                String[] f = lines[i].trim().split(" ");
                out.put(names.get(i), Long.parseLong(f[0]) * Long.parseLong(f[1]));
            }
        } catch (IOException | NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // no stat(1): sizes stay unknown
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }
}
