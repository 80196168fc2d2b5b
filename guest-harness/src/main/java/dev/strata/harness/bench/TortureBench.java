package dev.strata.harness.bench;

import dev.strata.harness.torture.Scenario;
import dev.strata.harness.torture.Tools;
import dev.strata.harness.torture.TortureRun;
import dev.strata.harness.torture.TrialOutcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Crash torture: machines in child JVMs killed with SIGKILL mid-flight, their files judged by
 * {@code qemu-img check}, the guest's crash journal and both Strata's and qemu-img's reading of
 * the disk (see {@link dev.strata.harness.torture.CrashTrial}).
 *
 * <pre>
 * strata bench torture [--trials 200] [--seed S] [--scenario none|stream|commit|mirror|backup|snapshot|stream-end|commit-end]
 *                      [--dir FOLDER] [--keep]
 * </pre>
 *
 * Prints one line per trial and a table per scenario; exits 1 if any trial failed. A failed
 * trial's folder (images, journal, child's output) stays under {@code --dir}.
 */
public final class TortureBench {

    /** What {@code strata bench ... --help} prints (see {@link dev.strata.harness.launcher.BenchCatalog}). */
    public static final String USAGE = "strata bench torture [--trials 200] [--seed S] [--dir FOLDER] [--keep]\n"
            + "                     [--scenario none|stream|commit|mirror|backup|snapshot|stream-end|commit-end]\n"
            + "Crash torture: machines in child JVMs killed with SIGKILL mid-flight, their files judged by\n"
            + "qemu-img check and the guest's crash journal; exits 1 if any trial failed.";

    private TortureBench() {
    }

    public static void main(String[] args) throws Exception {
        int trials = 200;
        long seed = System.nanoTime();
        Scenario only = null;
        Path dir = null;
        boolean keep = false;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--trials" -> trials = Integer.parseInt(args[++i]);
                    case "--seed" -> seed = Long.decode(args[++i]);
                    case "--scenario" -> only = Scenario.parse(args[++i]);
                    case "--dir" -> dir = Path.of(args[++i]);
                    case "--keep" -> keep = true;
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (trials < 1) {
                throw new IllegalArgumentException("--trials must be at least 1");
            }
        } catch (RuntimeException e) {
            System.err.println("strata bench torture: " + (e instanceof ArrayIndexOutOfBoundsException ? "missing value" : e.getMessage()));
            System.err.println("usage: strata bench torture [--trials N] [--seed S] [--scenario NAME] [--dir FOLDER] [--keep]");
            System.exit(1);
            return;
        }
        if (!Tools.qemuAvailable()) {
            System.err.println("strata bench torture: needs qemu-img and qemu-io (Debian package qemu-utils) as the judge");
            System.exit(1);
            return;
        }
        if (dir == null) {
            dir = Files.createTempDirectory("strata-torture-");
        }
        System.out.println("torture: " + trials + " trials, seed " + seed + (only != null ? ", scenario " + only.label() : "")
                + ", work folder " + dir);
        long t0 = System.nanoTime();
        List<TrialOutcome> outcomes = TortureRun.run(dir, trials, seed, only, keep, System.out);
        System.out.println();
        System.out.print(TortureRun.summary(outcomes));
        long failed = outcomes.stream().filter(o -> !o.ok()).count();
        System.out.printf("torture: %d trials in %.0f s, %d failed (reproduce one: --trials 1 --scenario NAME --seed ITS-SEED)%n",
                outcomes.size(), (System.nanoTime() - t0) / 1e9, failed);
        System.exit(failed == 0 ? 0 : 1);
    }
}
