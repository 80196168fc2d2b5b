package dev.strata.harness.report;

import java.util.Locale;

/** The few SVG elements the report draws, as text. Stateless; any thread. */
final class Svg {

    private Svg() {
    }

    static String rect(double x, double y, double w, double h, String attrs) {
        return String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s/>%n", x, y, w, h, attrs);
    }

    static String text(double x, double y, String t, String attrs) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" %s>%s</text>%n", x, y, attrs, t);
    }

    /** Text starting at {@code x}, or ending at the right margin when it would run past it (about 6.5 px a character). */
    static String textWithin(double x, double y, String plain, String attrs) {
        double width = 6.5 * plain.length();
        if (x + width > SvgReport.W - 4) {
            return text(Math.max(4, SvgReport.W - 4), y, esc(plain), attrs + " text-anchor=\"end\"");
        }
        return text(x, y, esc(plain), attrs);
    }

    static String esc(String t) {
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
