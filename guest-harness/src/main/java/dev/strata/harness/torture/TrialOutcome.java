package dev.strata.harness.torture;

import java.util.List;

/**
 * What one crash trial did and what the judges found.
 *
 * @param index          trial number in its run
 * @param seed           the seed that reproduces it ({@code bin/strata bench torture --seed S --trials 1 --scenario X})
 * @param scenario       what ran before the kill
 * @param workload       the guest workload's parameters
 * @param killAfterMillis when the kill came, counted from the start of the scenario's action
 * @param phase          what the job was doing when the kill came (from query-block-jobs)
 * @param durableWrites  acknowledged-and-flushed writes in the guest's journal
 * @param leakedClusters leaks qemu-img check found (all repaired by strata img check -r leaks when ok)
 * @param backing        the backing file of the active image after the crash ("" for none)
 * @param active         which image the judge read as the disk
 * @param problems       every rule the files broke; empty when the trial passed
 */
public record TrialOutcome(int index, long seed, Scenario scenario, String workload, long killAfterMillis, String phase,
                           long durableWrites, long leakedClusters, String backing, String active, List<String> problems) {

    public boolean ok() {
        return problems.isEmpty();
    }

    /** One line for the trial log. */
    public String line() {
        return String.format(java.util.Locale.ROOT, "trial %3d seed %-20d %-10s kill +%5d ms  %-28s durable %6d  leaks %3d  active %-10s backing %-12s %s",
                index, seed, scenario.label(), killAfterMillis, phase, durableWrites, leakedClusters, active,
                backing.isEmpty() ? "(none)" : baseName(backing), ok() ? "PASS" : "FAIL " + problems);
    }

    private static String baseName(String b) {
        int slash = b.lastIndexOf('/');
        return slash >= 0 ? b.substring(slash + 1) : b;
    }
}
