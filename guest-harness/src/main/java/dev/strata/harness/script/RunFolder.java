package dev.strata.harness.script;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A fresh working folder for a run: {@code strata-runs/<script>-<yyyyMMdd-HHmmss>}, with
 * {@code -2}, {@code -3}, ... appended when that name is taken. The folder is made with one
 * atomic create, so runs started at the same second (even from separate processes) never share
 * one. Stateless.
 */
final class RunFolder {

    private static final int MAX_TRIES = 1000;

    private RunFolder() {
    }

    static Path create(Path parent, String scriptName) throws IOException {
        Files.createDirectories(parent);
        String base = scriptName.replaceFirst("\\.strata$", "") + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        for (int n = 1; n <= MAX_TRIES; n++) {
            Path candidate = parent.resolve(n == 1 ? base : base + "-" + n);
            try {
                return Files.createDirectory(candidate);
            } catch (FileAlreadyExistsException e) {
                // taken by an earlier run or one started at the same moment: try the next name
            }
        }
        throw new IOException("no free run folder name under " + parent + " for " + base);
    }
}
