package dev.strata.harness.report;

import java.util.List;
import java.util.Locale;

/**
 * The jobs part of the report: one lane per job on the report's time axis, a strip of its phases
 * ({@code created}, {@code running}, {@code ready}, {@code pending}, {@code concluded}, ...) over a
 * box in which a line climbs from 0 to 100 % as the job's bytes get done. Stateless; any thread.
 */
final class JobLanes {

    static final int LANE = 70;
    private static final int PHASE_H = 14;
    private static final int PROGRESS_H = 34;

    private JobLanes() {
    }

    static void draw(StringBuilder s, Timeline.Data d, SvgReport.Axis axis, int top) {
        List<Timeline.JobSpan> jobs = d.jobs();
        s.append("<g id=\"jobs\">\n");
        s.append(Svg.text(8, top - 8, "jobs", "font-weight=\"bold\""));
        if (jobs.isEmpty()) {
            s.append(Svg.text(SvgReport.LEFT, top + 16, "no block jobs ran", "fill=\"#777\""));
        }
        int y = top;
        for (Timeline.JobSpan j : jobs) {
            long end = j.endMillis() < 0 ? axis.t0() + axis.span() : j.endMillis();
            phases(s, j, axis, y, end);
            progress(s, j, axis, y + PHASE_H + 2, end);
            s.append(Svg.text(8, y + 11, Svg.esc(j.type()), "fill=\"#333\""));
            String who = SvgReport.who(d, j.machine());
            s.append(Svg.text(8, y + PHASE_H + 18, Svg.esc(j.id()), "fill=\"#333\" font-size=\"10\""));
            if (!who.isEmpty()) {
                // whose job: a lane of the source and one of the destination look alike otherwise
                s.append(Svg.text(8, y + PHASE_H + 32, Svg.esc("on " + who), "class=\"machine\" fill=\"#333\" font-size=\"10\" font-weight=\"bold\""));
            }
            y += LANE;
        }
        s.append("</g>\n");
    }

    private static void phases(StringBuilder s, Timeline.JobSpan j, SvgReport.Axis axis, int y, long end) {
        List<Timeline.Phase> ph = j.phases();
        double lastLabelEnd = -1e9;
        for (int i = 0; i < ph.size(); i++) {
            long from = ph.get(i).atMillis();
            long to = i + 1 < ph.size() ? ph.get(i + 1).atMillis() : end;
            double x0 = axis.x(from);
            double w = Math.max(2, axis.x(to) - x0);
            String status = ph.get(i).status();
            s.append(Svg.rect(x0, y, w, PHASE_H, "class=\"phase\" data-status=\"" + Svg.esc(status) + "\" fill=\""
                    + SvgReport.PHASE_COLOURS.getOrDefault(status, "#dddddd") + "\""));
            // a phase name where it fits, else at least a tick so short phases are still visible
            if (x0 >= lastLabelEnd) {
                s.append(Svg.textWithin(x0 + 2, y + 11, status, "fill=\"#222\" font-size=\"10\""));
                lastLabelEnd = x0 + 6 * status.length() + 6;
            }
        }
    }

    private static void progress(StringBuilder s, Timeline.JobSpan j, SvgReport.Axis axis, int y, long end) {
        double x0 = axis.x(j.startMillis());
        double w = Math.max(2, axis.x(end) - x0);
        s.append(Svg.rect(x0, y, w, PROGRESS_H, "fill=\"#f3faf6\" stroke=\"#9cc\""));
        List<Timeline.Progress> p = j.progress();
        int stride = Math.max(1, (p.size() + SvgReport.MAX_POINTS - 1) / SvgReport.MAX_POINTS);
        StringBuilder pts = new StringBuilder(String.format(Locale.ROOT, "%.1f,%d ", x0, y + PROGRESS_H));
        for (int i = 0; i < p.size(); i += stride) {
            pts.append(point(p.get(i), axis, y));
        }
        if (!p.isEmpty()) {
            pts.append(point(p.get(p.size() - 1), axis, y));
        }
        s.append(String.format(Locale.ROOT,
                "<polyline class=\"progress\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n",
                SvgReport.PROGRESS_COLOUR, pts.toString().strip()));
        long done = p.isEmpty() ? 0 : p.get(p.size() - 1).offset();
        long len = p.isEmpty() ? 0 : p.get(p.size() - 1).len();
        s.append(Svg.textWithin(x0 + 4, y + PROGRESS_H - 4, String.format(Locale.ROOT, "%s — %s, %.1f of %.1f MiB",
                j.id(), j.outcome(), done / 1048576.0, len / 1048576.0), "fill=\"#114\" font-size=\"11\""));
    }

    private static String point(Timeline.Progress p, SvgReport.Axis axis, int y) {
        double frac = p.len() <= 0 ? 0 : Math.min(1, (double) p.offset() / p.len());
        return String.format(Locale.ROOT, "%.1f,%.1f ", axis.x(p.atMillis()), y + PROGRESS_H - PROGRESS_H * frac);
    }
}
