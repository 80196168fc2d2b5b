package dev.strata.harness.torture;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A series of {@link CrashTrial}s: the scenarios in turn (or one), each trial's seed derived from
 * the run's seed, a line per trial and a table per scenario. Passing trials' folders are removed
 * unless asked to keep them; failing ones stay for the post-mortem.
 *
 * <p>Used from one thread.
 */
public final class TortureRun {

    private TortureRun() {
    }

    /** The seed of trial {@code i} of a run seeded {@code seed} (SplitMix64 of their sum). */
    public static long trialSeed(long seed, int i) {
        long z = seed + 0x9E3779B97F4A7C15L * (i + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Runs {@code trials} trials in {@code work}, printing each outcome to {@code out} as it comes.
     *
     * @param only one scenario, or null for all in turn
     */
    public static List<TrialOutcome> run(Path work, int trials, long seed, Scenario only, boolean keep, PrintStream out)
            throws IOException, InterruptedException {
        Files.createDirectories(work);
        List<TrialOutcome> all = new ArrayList<>();
        Scenario[] kinds = Scenario.values();
        for (int i = 0; i < trials; i++) {
            Scenario s = only != null ? only : kinds[i % kinds.length];
            Path dir = work.resolve("t" + i);
            long trialSeed = only != null || trials == 1 ? (i == 0 ? seed : trialSeed(seed, i)) : trialSeed(seed, i);
            TrialOutcome o;
            try {
                o = CrashTrial.run(dir, i, trialSeed, s);
            } catch (IOException e) {
                o = new TrialOutcome(i, trialSeed, s, "?", 0, "setup", 0, 0, "", "?", List.of("trial could not run: " + e.getMessage()));
            }
            all.add(o);
            out.println(o.line());
            out.flush();
            if (o.ok() && !keep) {
                deleteTree(dir);
            }
        }
        return all;
    }

    /** Per scenario: trials, passed, failed, leaked clusters found (and repaired). */
    public static String summary(List<TrialOutcome> outcomes) {
        Map<Scenario, long[]> by = new EnumMap<>(Scenario.class);
        for (TrialOutcome o : outcomes) {
            long[] c = by.computeIfAbsent(o.scenario(), k -> new long[5]);
            c[0]++;
            c[o.ok() ? 1 : 2]++;
            c[3] += o.leakedClusters();
            c[4] += o.leakedClusters() > 0 ? 1 : 0;
        }
        StringBuilder sb = new StringBuilder("| scenario | trials | passed | failed | trials with leaks | leaked clusters |\n"
                + "| --- | ---: | ---: | ---: | ---: | ---: |\n");
        long[] t = new long[5];
        for (Map.Entry<Scenario, long[]> e : by.entrySet()) {
            long[] c = e.getValue();
            sb.append(String.format(java.util.Locale.ROOT, "| %s | %d | %d | %d | %d | %d |%n", e.getKey().label(), c[0], c[1], c[2], c[4], c[3]));
            for (int k = 0; k < 5; k++) {
                t[k] += c[k];
            }
        }
        sb.append(String.format(java.util.Locale.ROOT, "| **all** | %d | %d | %d | %d | %d |%n", t[0], t[1], t[2], t[4], t[3]));
        return sb.toString();
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
