package dev.strata.monitor.watch;

import dev.strata.jobs.BlockJobInfo;
import java.util.Locale;

/**
 * One job's progress as a text bar, the same wherever a job is watched: the console's status line
 * and attended {@code strata run} sessions. Stateless; any thread.
 */
public final class JobProgressText {

    private static final int BAR = 24;

    private JobProgressText() {
    }

    /** {@code stream virtio0 [##########..............]  42%  56.0/134.2 MiB  running}. */
    public static String line(BlockJobInfo j) {
        double frac = j.len() <= 0 ? 1.0 : Math.min(1.0, (double) j.offset() / j.len());
        int filled = (int) Math.round(frac * BAR);
        String bar = "#".repeat(filled) + ".".repeat(BAR - filled);
        return String.format(Locale.ROOT, "%s %s [%s] %3d%%  %.1f/%.1f MiB  %s%s",
                j.type().qapiName(), j.device(), bar, Math.round(frac * 100),
                j.offset() / 1048576.0, j.len() / 1048576.0, j.status().qapiName(),
                j.speed() > 0 ? String.format(Locale.ROOT, "  limit %d B/s", j.speed()) : "");
    }
}
