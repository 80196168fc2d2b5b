package dev.strata.harness.launcher;

import dev.strata.harness.guest.Guest;
import dev.strata.harness.guest.GuestTick;
import dev.strata.harness.guest.Workload;
import dev.strata.monitor.watch.GuestWatch;
import java.util.ArrayList;
import java.util.List;

/**
 * The synthetic guest as {@code info guest} sees it: each workload's last second, its totals
 * and its verification counters, read live. Stateless over the {@link Guest}; any thread.
 */
final class GuestWatchAdapter implements GuestWatch {

    private final Guest guest;

    GuestWatchAdapter(Guest guest) {
        this.guest = guest;
    }

    @Override
    public List<Figures> workloads() {
        List<Figures> out = new ArrayList<>();
        for (Workload w : guest.workloads()) {
            GuestTick last = w.lastSecond();
            boolean running = w.isRunning();
            out.add(new Figures(w.name(), w.drive(), running, running ? last.iops() : 0, running ? last.bytesPerSec() : 0,
                    last.p50Ns(), last.p99Ns(), w.operations(), w.spec().verify(), w.checkedReads(), w.verifyFailures()));
        }
        return out;
    }
}
