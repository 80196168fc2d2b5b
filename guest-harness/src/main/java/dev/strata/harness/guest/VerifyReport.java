package dev.strata.harness.guest;

import java.util.List;
import java.util.Map;

/**
 * The result of checking sectors against the shadow map: counts per failure kind and the first
 * failures in LBA order of detection (capped, so a wiped disk does not exhaust memory).
 *
 * @param drive           drive id
 * @param sectorsChecked  sectors read and checked
 * @param sectorsWritten  sectors the guest wrote at least once
 * @param failures        the first failures (at most {@link Verifier#MAX_REPORTED})
 * @param counts          total failures per kind (all of them, not just the reported ones)
 */
public record VerifyReport(String drive, long sectorsChecked, long sectorsWritten, List<VerifyFailure> failures,
                           Map<VerifyFailure.Kind, Long> counts) {

    public long failureCount() {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    public boolean ok() {
        return failureCount() == 0;
    }

    /** A summary line, then one line per reported failure. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(drive).append(": verified ").append(sectorsChecked).append(" sectors (")
                .append(sectorsWritten).append(" written by the guest): ");
        if (ok()) {
            sb.append("OK, no failures");
        } else {
            sb.append(failureCount()).append(" FAILED ").append(counts);
            for (VerifyFailure f : failures) {
                sb.append(System.lineSeparator()).append("  ").append(f);
            }
        }
        return sb.toString();
    }
}
