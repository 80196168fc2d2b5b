package dev.strata.harness.launcher;

import java.util.Map;

/**
 * One {@code -blockdev}: a named node built from flat dotted options ({@code driver},
 * {@code file=NODE} or {@code file.driver=...}, {@code backing=NODE}, ...), no backend.
 *
 * @param typed the option as typed, for messages
 */
public record BlockdevSpec(String nodeName, Map<String, String> options, String typed) {

    public BlockdevSpec {
        options = Map.copyOf(options);
    }
}
