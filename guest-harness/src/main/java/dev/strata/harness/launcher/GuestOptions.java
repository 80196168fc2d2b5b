package dev.strata.harness.launcher;

import dev.strata.harness.guest.WorkloadSpec;

/**
 * Parses Strata's own {@code -guest} option: a workload as fio-style key=value pairs, e.g.
 * {@code drive=virtio0,rw=randrw,bs=4k,iodepth=8,runtime=30,verify=on}. The keys and their rules
 * are the guest's ({@link WorkloadSpec#parse}); this only turns its refusal into the launcher's
 * one-line error. {@code script=FILE} (a scenario script run on this machine) is taken out of the
 * command line by {@link GuestScripts} before parsing.
 *
 * <p>Pure functions; any thread.
 */
final class GuestOptions {

    private static final String PREFIX = "guest workload: ";

    private GuestOptions() {
    }

    static GuestSpec parse(String value, String typed) {
        if (value.startsWith("script=")) {
            // bin/strata takes -guest script=FILE out before parsing (GuestScripts); what is left here
            // is a script mixed with workload keys, or one inside a scenario's own machine line
            throw new UsageException(typed, value.contains(",")
                    ? "script= cannot be combined with workload keys; give it as its own -guest script=FILE"
                    : "a scenario script can only be given on bin/strata's own command line");
        }
        try {
            return new GuestSpec(WorkloadSpec.parse(value), typed);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage() == null ? "invalid workload" : e.getMessage();
            throw new UsageException(typed, m.startsWith(PREFIX) ? m.substring(PREFIX.length()) : m);
        } catch (RuntimeException e) {
            throw new UsageException(typed, "invalid workload (" + e + ")");
        }
    }
}
