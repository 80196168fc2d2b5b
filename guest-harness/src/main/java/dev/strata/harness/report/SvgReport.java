package dev.strata.harness.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws a {@link Timeline.Data} as one self-contained SVG on one time axis: guest IOPS and p99
 * latency (a line per workload), the monitor's events as marks across both charts, each job as a
 * lane with its phases ({@code created}, {@code running}, {@code ready}, ...) and a line of bytes
 * done over time, and the backing chain before and after. Long runs are drawn as averages of
 * several samples (said in the header), so a ten-minute soak stays readable. No scripts, no
 * external fonts or files.
 *
 * <p>Stateless and thread safe.
 */
public final class SvgReport {

    static final int W = 1000;
    static final int LEFT = 90;
    static final int PLOT_W = W - LEFT - 30;
    static final int CHART_H = 150;
    /** At most this many points per line: about one per pixel of the plot. */
    static final int MAX_POINTS = PLOT_W;
    static final String[] IOPS_COLOURS = {"#2a6fdb", "#8e44ad", "#16a085", "#7f8c8d"};
    static final String[] P99_COLOURS = {"#d9822b", "#c0392b", "#b7950b", "#6e2c00"};
    static final String PROGRESS_COLOUR = "#197a4b";
    static final String EVENT_COLOUR = "#b03060";
    /** The events of each machine in their own colour: the first machine's as in a run with one. */
    static final String[] EVENT_COLOURS = {EVENT_COLOUR, "#1f5fa8", "#6b4c9a"};
    /** Height of one machine's events strip: three rows of names and a gap. */
    static final int EVENT_STRIP_H = 3 * 14 + 12;
    static final Map<String, String> PHASE_COLOURS = Map.of("created", "#c8c8c8", "running", "#8fdcb4", "ready", "#f2c14e",
            "paused", "#e6e6a0", "standby", "#e6e6a0", "waiting", "#d8d8d8", "pending", "#f5a97f", "aborting", "#e57373",
            "concluded", "#777777");

    private SvgReport() {
    }

    public static String render(Timeline.Data d) {
        long t0 = d.startMillis();
        long span = Math.max(1000, d.endMillis() - t0);
        Axis axis = new Axis(t0, span);
        Map<String, List<Timeline.Sample>> series = bySeries(d);
        List<String> strips = eventStrips(d);
        long bucket = bucketMillis(d, series, span);
        int iopsTop = 80;
        int p99Top = iopsTop + CHART_H + 40;
        int eventsTop = p99Top + CHART_H + 30;
        int jobsTop = eventsTop + strips.size() * EVENT_STRIP_H + 40 - (EVENT_STRIP_H - 3 * 14);
        int lanes = Math.max(1, d.jobs().size());
        int chainTop = jobsTop + lanes * JobLanes.LANE + 30;
        int height = chainTop + 2 * 90 + 20;
        StringBuilder s = new StringBuilder();
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n",
                W, height, W, height));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        s.append(Svg.text(LEFT, 28, Svg.esc(d.title()), "font-size=\"18\" font-weight=\"bold\""));
        s.append(Svg.text(LEFT, 46, String.format(Locale.ROOT, "%.1f s recorded, %d guest samples, %d job(s), %d event(s)",
                span / 1000.0, d.samples().size(), d.jobs().size(), d.events().size()), "fill=\"#555\""));
        s.append(Svg.text(LEFT, 62, Svg.esc(sampling(d.sampleMillis(), bucket)), "fill=\"#555\" id=\"sampling\""));
        if (several(d)) {
            s.append(Svg.text(LEFT + 420, 46, Svg.esc(d.machines().size() + " machines: " + String.join(", ", strips)
                    + " (lines, event rows and jobs are labelled with their machine)"), "fill=\"#555\" id=\"machines\""));
        }
        chart(s, series, bucket, axis, iopsTop, true, d);
        chart(s, series, bucket, axis, p99Top, false, d);
        events(s, d, strips, axis, iopsTop, p99Top + CHART_H, eventsTop);
        JobLanes.draw(s, d, axis, jobsTop);
        // the chain is the first machine's first drive: say whose when there are two ends
        String whose = several(d) ? " (" + who(d, d.machines().get(0)) + ")" : "";
        chain(s, chainTop, "backing chain before" + whose, d.chainBefore());
        chain(s, chainTop + 90, "backing chain after" + whose, d.chainAfter());
        s.append("</svg>\n");
        return s.toString();
    }

    /** Maps time to the plot's x coordinate. */
    record Axis(long t0, long span) {
        double x(long atMillis) {
            return LEFT + PLOT_W * (double) (Math.min(Math.max(atMillis, t0), t0 + span) - t0) / span;
        }
    }

    static String sampling(long sampleMillis, long bucket) {
        String base = "guest sampled every " + sampleMillis + " ms";
        return bucket <= sampleMillis ? base + ", every sample drawn"
                : base + "; drawn as " + bucket + " ms averages (p99: the highest of each " + bucket + " ms)";
    }

    /** A line per workload; with several machines each is named after its machine too ({@code dst virtio0-randrw}). */
    private static Map<String, List<Timeline.Sample>> bySeries(Timeline.Data d) {
        Map<String, List<Timeline.Sample>> m = new LinkedHashMap<>();
        for (Timeline.Sample x : d.samples()) {
            String who = who(d, x.machine());
            m.computeIfAbsent(who.isEmpty() ? x.series() : who + " " + x.series(), k -> new ArrayList<>()).add(x);
        }
        return m;
    }

    /** Whether the run had more than one machine: then everything drawn says whose it is. */
    static boolean several(Timeline.Data d) {
        return d.machines().size() > 1;
    }

    /** The label of a machine's rows, lines and lanes: empty for a run with one machine. */
    static String who(Timeline.Data d, String machine) {
        if (!several(d)) {
            return "";
        }
        return machine.isEmpty() ? "main" : machine;
    }

    /** One events strip per machine (labels), or one unlabelled strip ("") for a run with one machine. */
    private static List<String> eventStrips(Timeline.Data d) {
        if (!several(d)) {
            return List.of("");
        }
        List<String> labels = new ArrayList<>();
        for (String m : d.machines()) {
            labels.add(who(d, m));
        }
        return labels;
    }

    /** The averaging period: the sampling period, or a multiple of it when a line would exceed {@link #MAX_POINTS}. */
    static long bucketMillis(Timeline.Data d, Map<String, List<Timeline.Sample>> series, long span) {
        int most = 0;
        for (List<Timeline.Sample> l : series.values()) {
            most = Math.max(most, l.size());
        }
        long sample = Math.max(1, d.sampleMillis());
        if (most <= MAX_POINTS) {
            return sample;
        }
        long perPoint = (span + MAX_POINTS - 1) / MAX_POINTS;
        return ((perPoint + sample - 1) / sample) * sample;
    }

    /** Averages IOPS and keeps the highest p99 per {@code bucket} ms; returns the samples unchanged for the sampling period. */
    static List<Timeline.Sample> coarsen(List<Timeline.Sample> in, long t0, long bucket, long sampleMillis) {
        if (bucket <= sampleMillis || in.isEmpty()) {
            return in;
        }
        List<Timeline.Sample> out = new ArrayList<>();
        long current = Long.MIN_VALUE;
        double iops = 0;
        double p99 = 0;
        int n = 0;
        for (Timeline.Sample x : in) {
            long b = (x.atMillis() - t0) / bucket;
            if (b != current && n > 0) {
                out.add(new Timeline.Sample(t0 + current * bucket + bucket / 2, x.machine(), x.series(), iops / n, p99));
                iops = 0;
                p99 = 0;
                n = 0;
            }
            current = b;
            iops += x.iops();
            p99 = Math.max(p99, x.p99Micros());
            n++;
        }
        out.add(new Timeline.Sample(t0 + current * bucket + bucket / 2, in.get(0).machine(), in.get(0).series(), iops / n, p99));
        return out;
    }

    private static void chart(StringBuilder s, Map<String, List<Timeline.Sample>> series, long bucket, Axis axis, int top,
                              boolean iops, Timeline.Data d) {
        Map<String, List<Timeline.Sample>> drawn = new LinkedHashMap<>();
        double max = 1;
        for (Map.Entry<String, List<Timeline.Sample>> e : series.entrySet()) {
            List<Timeline.Sample> l = coarsen(e.getValue(), axis.t0(), bucket, d.sampleMillis());
            drawn.put(e.getKey(), l);
            if (!iops) {
                // a line of requests served (no latency known) is drawn in the IOPS chart only
                l = l.stream().filter(x -> x.p99Micros() >= 0).toList();
                if (l.isEmpty()) {
                    drawn.remove(e.getKey());
                    continue;
                }
                drawn.put(e.getKey(), l);
            }
            for (Timeline.Sample x : l) {
                max = Math.max(max, iops ? x.iops() : x.p99Micros());
            }
        }
        s.append(String.format(Locale.ROOT, "<g class=\"chart\" id=\"%s\">%n", iops ? "iops" : "p99"));
        s.append(Svg.rect(LEFT, top, PLOT_W, CHART_H, "fill=\"#f7f7fb\" stroke=\"#ccc\""));
        s.append(Svg.text(8, top + 14, iops ? "guest IOPS" : "p99 latency (µs)", "fill=\"#333\""));
        s.append(Svg.text(8, top + 30, fmt(max), "fill=\"#777\""));
        s.append(Svg.text(8, top + CHART_H, "0", "fill=\"#777\""));
        // job lifetimes shaded under the lines, so a dip lines up with what caused it
        for (Timeline.JobSpan j : d.jobs()) {
            double x0 = axis.x(j.startMillis());
            double x1 = axis.x(j.endMillis() < 0 ? axis.t0() + axis.span() : j.endMillis());
            s.append(Svg.rect(x0, top, Math.max(1, x1 - x0), CHART_H, "fill=\"#3c9\" fill-opacity=\"0.10\""));
        }
        int i = 0;
        for (Map.Entry<String, List<Timeline.Sample>> e : drawn.entrySet()) {
            String colour = (iops ? IOPS_COLOURS : P99_COLOURS)[i % IOPS_COLOURS.length];
            StringBuilder pts = new StringBuilder();
            for (Timeline.Sample x : e.getValue()) {
                double v = iops ? x.iops() : x.p99Micros();
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", axis.x(x.atMillis()), top + CHART_H - CHART_H * v / max));
            }
            s.append(String.format(Locale.ROOT,
                    "<polyline class=\"series\" data-series=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n",
                    Svg.esc(e.getKey()), colour, pts.toString().strip()));
            if (iops) {
                s.append(Svg.text(LEFT + PLOT_W - 220, top + 16 + 14 * i, Svg.esc(e.getKey()), "fill=\"" + colour + "\""));
            }
            i++;
        }
        if (drawn.isEmpty()) {
            s.append(Svg.text(LEFT + 10, top + 20, "no guest samples", "fill=\"#777\""));
        }
        for (int t = 0; t <= 10; t++) {
            double px = LEFT + PLOT_W * t / 10.0;
            String tick = axis.span() < 20_000 ? "%.1fs" : "%.0fs";
            s.append(Svg.text(px - 8, top + CHART_H + 14, String.format(Locale.ROOT, tick, axis.span() * t / 10000.0),
                    "fill=\"#777\" font-size=\"10\""));
        }
        s.append("</g>\n");
    }

    /**
     * A mark across both charts per event, and its name in a strip below (three rows, so neighbours
     * don't overlap); with several machines one strip per machine, each in its own colour.
     */
    private static void events(StringBuilder s, Timeline.Data d, List<String> strips, Axis axis, int top, int bottom, int firstStrip) {
        s.append("<g id=\"events\">\n");
        for (int i = 0; i < strips.size(); i++) {
            String label = strips.get(i);
            List<Timeline.Event> mine = new ArrayList<>();
            for (Timeline.Event e : d.events()) {
                if (who(d, e.machine()).equals(label)) {
                    mine.add(e);
                }
            }
            eventStrip(s, label, mine, EVENT_COLOURS[i % EVENT_COLOURS.length], axis, top, firstStrip + i * EVENT_STRIP_H);
        }
        s.append("</g>\n");
    }

    private static void eventStrip(StringBuilder s, String machine, List<Timeline.Event> events, String colour, Axis axis, int top,
                                   int stripTop) {
        s.append(Svg.text(8, stripTop + 10, "events", "font-weight=\"bold\""));
        if (!machine.isEmpty()) {
            s.append(Svg.text(8, stripTop + 24, Svg.esc(machine), "class=\"machine\" fill=\"" + colour + "\" font-weight=\"bold\""));
        }
        if (events.isEmpty()) {
            s.append(Svg.text(LEFT, stripTop + 10, "no events", "fill=\"#777\""));
        }
        double[] rowEnd = {-1e9, -1e9, -1e9};
        for (Timeline.Event e : events) {
            double x = axis.x(e.atMillis());
            String label = e.name() + (e.detail().isEmpty() ? "" : " " + e.detail());
            int row = 0;
            for (int r = 0; r < rowEnd.length; r++) {
                if (rowEnd[r] < x) {
                    row = r;
                    break;
                }
                row = rowEnd[r] < rowEnd[row] ? r : row;
            }
            rowEnd[row] = x + 6.5 * label.length();
            s.append(String.format(Locale.ROOT,
                    "<line class=\"event\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>%n",
                    x, top, x, stripTop + 14 * row + 2, colour));
            s.append(Svg.textWithin(x + 2, stripTop + 10 + 14 * row, label, "fill=\"" + colour + "\" font-size=\"10\""));
        }
    }

    private static void chain(StringBuilder s, int top, String label, List<String> chain) {
        s.append("<g class=\"chain\">\n");
        s.append(Svg.text(8, top + 14, label, "font-weight=\"bold\""));
        if (chain.isEmpty()) {
            s.append(Svg.text(LEFT + 60, top + 45, "(not recorded)", "fill=\"#777\""));
        }
        // drawn base first, left to right, like the [A] <- [B] <- [E] notation
        int n = chain.size();
        double boxW = n == 0 ? 0 : Math.min(150, (PLOT_W - 20.0 * (n - 1)) / n);
        for (int i = 0; i < n; i++) {
            String name = chain.get(n - 1 - i);
            double x = LEFT + 60 + i * (boxW + 20);
            s.append(Svg.rect(x, top + 25, boxW, 36, i == n - 1 ? "fill=\"#fff4d6\" stroke=\"#c90\"" : "fill=\"#eef\" stroke=\"#88a\""));
            s.append(Svg.text(x + 6, top + 48, Svg.esc(shortName(name)), "fill=\"#222\""));
            if (i > 0) {
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" fill=\"#555\">&lt;-</text>%n", x - 17, top + 48));
            }
        }
        s.append("</g>\n");
    }

    private static String shortName(String path) {
        int scheme = path.indexOf("://");
        if (scheme > 0) {
            // a remote disk (nbd+unix:///disk?socket=…): its protocol and export, not the socket's file name
            int query = path.indexOf('?');
            return query > 0 ? path.substring(0, query) : path;
        }
        int slash = path.lastIndexOf('/');
        return slash >= 0 ? path.substring(slash + 1) : path;
    }

    static String fmt(double v) {
        return v >= 10000 ? String.format(Locale.ROOT, "%.0fk", v / 1000) : String.format(Locale.ROOT, "%.0f", v);
    }

    static String esc(String t) {
        return Svg.esc(t);
    }
}
