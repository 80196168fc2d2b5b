package dev.strata.harness.launcher;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A fresh folder named {@code <name>-<yyyyMMdd-HHmmss>} (or just the timestamp for an empty name) under a parent, with {@code -2},
 * {@code -3}, ... appended when that name is taken: a scenario run's folder under
 * {@code strata-runs/}, the demo machine's under {@code strata-demo/}. The folder is made with one
 * atomic create, so runs started in the same second (even from separate processes) never share
 * one. Stateless; any thread.
 */
public final class FreshFolder {

    private static final int MAX_TRIES = 1000;

    private FreshFolder() {
    }

    /** Creates and returns the folder; {@code name} loses a {@code .strata} ending. */
    public static Path create(Path parent, String name) throws IOException {
        Files.createDirectories(parent);
        String stem = name.replaceFirst("\\.strata$", "");
        String base = (stem.isEmpty() ? "" : stem + "-") + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
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
