package dev.strata.harness.torture;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CI-sized crash torture: one trial of every {@link Scenario} (machine in a child JVM, SIGKILL,
 * files judged by qemu-img check, the guest's journal and both readers). The seed varies by
 * day unless {@code -Dstrata.torture.seed=S} pins it; a failure prints the seed of the trial.
 * The long run is {@code bin/strata bench torture --trials 200}.
 */
class CrashTortureTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void everyScenarioSurvivesSigkill() throws Exception {
        Assumptions.assumeTrue(Tools.qemuAvailable(), "CRASH TORTURE SKIPPED: qemu-img/qemu-io (qemu-utils) are not installed");
        long seed = Long.getLong("strata.torture.seed", java.time.LocalDate.now(java.time.ZoneOffset.UTC).toEpochDay());
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
        List<TrialOutcome> outcomes = TortureRun.run(dir, Scenario.values().length, seed, null, false, out);
        String text = log.toString(StandardCharsets.UTF_8);
        System.out.println("crash torture, seed " + seed + ":\n" + text + TortureRun.summary(outcomes));
        assertTrue(outcomes.stream().allMatch(TrialOutcome::ok), "seed " + seed + ":\n" + text);
    }
}
