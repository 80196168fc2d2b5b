package dev.strata.monitor.qemuio;

import java.util.Locale;

/** qemu-io's report lines and number formats ({@code print_report}, {@code cvtstr}, {@code timestr}). Stateless. */
final class QemuIoReport {

    private QemuIoReport() {
    }

    /** {@code wrote 65536/65536 bytes at offset 0} and {@code 64 KiB, 1 ops; 00.00 sec (... MiB/sec and ... ops/sec)}. */
    static String report(String op, long nanos, long offset, long count, long total, int ops) {
        double secs = nanos / 1e9;
        return op + " " + total + "/" + count + " bytes at offset " + offset + "\n"
                + cvtstr(total) + ", " + ops + " ops; " + timestr(nanos) + " (" + cvtstr(total / secs) + "/sec and "
                + String.format(Locale.ROOT, "%.4f", ops / secs) + " ops/sec)\n";
    }

    static String cvtstr(double value) {
        String[] units = {" EiB", " PiB", " TiB", " GiB", " MiB", " KiB"};
        double[] scale = {0x1p60, 0x1p50, 0x1p40, 0x1p30, 0x1p20, 0x1p10};
        String num = null;
        String suffix = " bytes";
        for (int i = 0; i < units.length; i++) {
            if (value >= scale[i]) {
                num = String.format(Locale.ROOT, "%.3f", value / scale[i]);
                suffix = units[i];
                break;
            }
        }
        if (num == null) {
            num = Double.isInfinite(value) ? "inf" : String.format(Locale.ROOT, "%f", value);
        }
        int trim = num.indexOf(".000");
        return (trim >= 0 ? num.substring(0, trim) : num) + suffix;
    }

    static String timestr(long nanos) {
        long sec = nanos / 1_000_000_000L;
        double frac = (nanos % 1_000_000_000L) / 1e9;
        if (sec > 0) {
            return String.format(Locale.ROOT, "%d:%02d:%05.2f", sec / 3600, (sec / 60) % 60, (sec % 60) + frac);
        }
        return String.format(Locale.ROOT, "%05.2f sec", frac);
    }
}
