package dev.strata.monitor.watch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Draws {@code x-strata-query-guest} as the table {@code info guest} prints: one row per workload,
 * sized for a projector (no line past 100 columns). Stateless; any thread.
 */
final class GuestText {

    private static final String ROW = "%-18s %-8s %8s %9s %8s %8s %11s  %s";

    private GuestText() {
    }

    static List<String> lines(JsonNode workloads) {
        List<String> out = new ArrayList<>();
        if (workloads.isEmpty()) {
            out.add("No guest workloads");
            return out;
        }
        out.add(String.format(Locale.ROOT, ROW, "workload", "state", "IOPS", "MiB/s", "p50", "p99", "operations", "verification"));
        for (JsonNode w : workloads) {
            String verification = w.get("verify").asBoolean()
                    ? w.get("blocks-checked").asLong() + " blocks checked, " + w.get("verify-failures").asLong() + " failures"
                    : "off";
            out.add(String.format(Locale.ROOT, ROW, w.get("workload").asText(), w.get("running").asBoolean() ? "running" : "stopped",
                    String.format(Locale.ROOT, "%.0f", w.get("iops").asDouble()),
                    String.format(Locale.ROOT, "%.1f", w.get("bytes-per-sec").asDouble() / 1048576.0),
                    time(w.get("p50-ns").asLong()), time(w.get("p99-ns").asLong()),
                    Long.toString(w.get("operations").asLong()), verification).stripTrailing());
        }
        return out;
    }

    /** Latencies as {@code 45us}, {@code 1.2ms}, {@code 15ms}. */
    static String time(long ns) {
        if (ns >= 10_000_000) {
            return String.format(Locale.ROOT, "%.0fms", ns / 1e6);
        }
        if (ns >= 1_000_000) {
            return String.format(Locale.ROOT, "%.1fms", ns / 1e6);
        }
        return String.format(Locale.ROOT, "%.0fus", ns / 1e3);
    }
}
