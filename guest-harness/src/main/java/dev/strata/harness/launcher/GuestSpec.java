package dev.strata.harness.launcher;

import dev.strata.harness.guest.WorkloadSpec;

/**
 * One {@code -guest}: a workload of the synthetic guest, parsed by the guest's own
 * {@link WorkloadSpec#parse} so the launcher and the guest share one set of keys and rules.
 *
 * @param typed the option as typed, for messages
 */
public record GuestSpec(WorkloadSpec workload, String typed) {
}
