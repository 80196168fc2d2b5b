package dev.strata.harness.report;

import java.util.List;
import java.util.Locale;

/**
 * Draws a {@link Timeline.Data} as one self-contained SVG: guest IOPS and p99 latency per second,
 * each job as a bar over the same time axis (filled as its progress advanced), and the backing
 * chain before and after as box diagrams. No scripts, no external fonts or files.
 * Stateless and thread safe.
 */
public final class SvgReport {

    private static final int W = 1000;
    private static final int LEFT = 90;
    private static final int PLOT_W = W - LEFT - 30;
    private static final int CHART_H = 150;

    private SvgReport() {
    }

    public static String render(Timeline.Data d) {
        long t0 = d.startMillis();
        long span = Math.max(1000, d.endMillis() - t0);
        int jobsTop = 60 + 2 * (CHART_H + 50);
        int lanes = Math.max(1, d.jobs().size());
        int chainTop = jobsTop + lanes * 34 + 50;
        int height = chainTop + 2 * 90 + 20;
        StringBuilder s = new StringBuilder();
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n",
                W, height, W, height));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        s.append(text(LEFT, 28, esc(d.title()), "font-size=\"18\" font-weight=\"bold\""));
        s.append(text(LEFT, 46, String.format(Locale.ROOT, "%.1f s recorded, %d guest samples, %d job(s)",
                span / 1000.0, d.samples().size(), d.jobs().size()), "fill=\"#555\""));

        double maxIops = 1;
        double maxP99 = 1;
        for (Timeline.Sample x : d.samples()) {
            maxIops = Math.max(maxIops, x.iops());
            maxP99 = Math.max(maxP99, x.p99Micros());
        }
        int iopsTop = 60;
        int p99Top = iopsTop + CHART_H + 50;
        chart(s, d, iopsTop, "guest IOPS", maxIops, true, t0, span);
        chart(s, d, p99Top, "p99 latency (µs)", maxP99, false, t0, span);
        jobs(s, d, jobsTop, t0, span);
        chain(s, chainTop, "backing chain before", d.chainBefore());
        chain(s, chainTop + 90, "backing chain after", d.chainAfter());
        s.append("</svg>\n");
        return s.toString();
    }

    private static void chart(StringBuilder s, Timeline.Data d, int top, String label, double max, boolean iops, long t0, long span) {
        s.append(String.format(Locale.ROOT, "<g class=\"chart\" id=\"%s\">%n", iops ? "iops" : "p99"));
        s.append(rect(LEFT, top, PLOT_W, CHART_H, "fill=\"#f7f7fb\" stroke=\"#ccc\""));
        s.append(text(8, top + 14, label, "fill=\"#333\""));
        s.append(text(8, top + 30, fmt(max), "fill=\"#777\""));
        s.append(text(8, top + CHART_H, "0", "fill=\"#777\""));
        StringBuilder pts = new StringBuilder();
        for (Timeline.Sample x : d.samples()) {
            double v = iops ? x.iops() : x.p99Micros();
            double px = LEFT + PLOT_W * (double) (x.atMillis() - t0) / span;
            double py = top + CHART_H - CHART_H * v / max;
            pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
        }
        if (!pts.isEmpty()) {
            s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n",
                    iops ? "#2a6fdb" : "#d9822b", pts.toString().strip()));
        }
        // job lifetimes drawn over the charts so a dip lines up with what caused it
        for (Timeline.JobSpan j : d.jobs()) {
            double x0 = LEFT + PLOT_W * (double) (j.startMillis() - t0) / span;
            long end = j.endMillis() < 0 ? t0 + span : j.endMillis();
            double x1 = LEFT + PLOT_W * (double) (end - t0) / span;
            s.append(String.format(Locale.ROOT,
                    "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#3c9\" fill-opacity=\"0.12\"/>%n",
                    x0, top, Math.max(1, x1 - x0), CHART_H));
        }
        for (int i = 0; i <= 10; i++) {
            double px = LEFT + PLOT_W * i / 10.0;
            String tick = span < 20_000 ? "%.1fs" : "%.0fs";
            s.append(text(px - 8, top + CHART_H + 14, String.format(Locale.ROOT, tick, span * i / 10000.0), "fill=\"#777\" font-size=\"10\""));
        }
        s.append("</g>\n");
    }

    private static void jobs(StringBuilder s, Timeline.Data d, int top, long t0, long span) {
        s.append("<g id=\"jobs\">\n");
        s.append(text(8, top - 8, "jobs", "font-weight=\"bold\""));
        if (d.jobs().isEmpty()) {
            s.append(text(LEFT, top + 16, "no block jobs ran", "fill=\"#777\""));
        }
        int y = top;
        for (Timeline.JobSpan j : d.jobs()) {
            double x0 = LEFT + PLOT_W * (double) (j.startMillis() - t0) / span;
            long end = j.endMillis() < 0 ? t0 + span : j.endMillis();
            double w = Math.max(2, PLOT_W * (double) (end - j.startMillis()) / span);
            s.append(rect(x0, y, w, 24, "fill=\"#e4f5ec\" stroke=\"#3c9\""));
            // progress: the filled part grows as offset/len grew, sample by sample
            StringBuilder pts = new StringBuilder(String.format(Locale.ROOT, "%.1f,%d ", x0, y + 24));
            for (Timeline.Progress p : j.progress()) {
                double px = LEFT + PLOT_W * (double) (p.atMillis() - t0) / span;
                double frac = p.len() == 0 ? 1 : Math.min(1, (double) p.offset() / p.len());
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, y + 24 - 24 * frac));
            }
            if (!j.progress().isEmpty()) {
                Timeline.Progress last = j.progress().get(j.progress().size() - 1);
                double lastX = LEFT + PLOT_W * (double) (last.atMillis() - t0) / span;
                pts.append(String.format(Locale.ROOT, "%.1f,%d", lastX, y + 24));
            }
            s.append(String.format(Locale.ROOT, "<polygon fill=\"#3c9\" fill-opacity=\"0.35\" stroke=\"#197a4b\" points=\"%s\"/>%n", pts.toString().strip()));
            s.append(text(8, y + 16, esc(j.type()), "fill=\"#333\""));
            s.append(text(x0 + 4, y + 16, esc(j.id() + " — " + j.outcome()), "fill=\"#114\""));
            y += 34;
        }
        s.append("</g>\n");
    }

    private static void chain(StringBuilder s, int top, String label, List<String> chain) {
        s.append("<g class=\"chain\">\n");
        s.append(text(8, top + 14, label, "font-weight=\"bold\""));
        if (chain.isEmpty()) {
            s.append(text(LEFT + 60, top + 45, "(not recorded)", "fill=\"#777\""));
        }
        // drawn base first, left to right, like the [A] <- [B] <- [E] notation
        int n = chain.size();
        double boxW = n == 0 ? 0 : Math.min(150, (PLOT_W - 20.0 * (n - 1)) / n);
        for (int i = 0; i < n; i++) {
            String name = chain.get(n - 1 - i);
            double x = LEFT + 60 + i * (boxW + 20);
            s.append(rect(x, top + 25, boxW, 36, i == n - 1 ? "fill=\"#fff4d6\" stroke=\"#c90\"" : "fill=\"#eef\" stroke=\"#88a\""));
            s.append(text(x + 6, top + 48, esc(shortName(name)), "fill=\"#222\""));
            if (i > 0) {
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" fill=\"#555\">&lt;-</text>%n", x - 17, top + 48));
            }
        }
        s.append("</g>\n");
    }

    private static String shortName(String path) {
        int slash = path.lastIndexOf('/');
        return slash >= 0 ? path.substring(slash + 1) : path;
    }

    private static String rect(double x, double y, double w, double h, String attrs) {
        return String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s/>%n", x, y, w, h, attrs);
    }

    private static String text(double x, double y, String t, String attrs) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" %s>%s</text>%n", x, y, attrs, t);
    }

    private static String fmt(double v) {
        return v >= 10000 ? String.format(Locale.ROOT, "%.0fk", v / 1000) : String.format(Locale.ROOT, "%.0f", v);
    }

    static String esc(String t) {
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
