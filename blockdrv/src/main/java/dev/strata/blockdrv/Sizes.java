package dev.strata.blockdrv;

import java.math.BigDecimal;

/** Parsing and printing of byte sizes the way qemu-img and QEMU options do. */
public final class Sizes {

    private Sizes() {
    }

    /**
     * Parses {@code 64M}, {@code 1G}, {@code 512}, {@code 1.5k}, {@code 2048b}: bytes unless a
     * suffix (b, k/K, M, G, T, P, E; powers of 1024) says otherwise.
     */
    public static long parseBytes(String text, String what) {
        return parse(text, 1, what);
    }

    /**
     * Parses a size with a default unit for a bare number, as HMP's {@code o} arguments (default
     * MiB). Accepts hexadecimal without suffix ({@code 0x10}) and decimal fractions.
     */
    public static long parse(String text, long defaultUnit, String what) {
        String t = text.trim();
        if (t.isEmpty()) {
            throw BlockException.invalid("invalid size for '" + what + "'");
        }
        try {
            if (t.startsWith("0x") || t.startsWith("0X")) {
                long v = Long.parseUnsignedLong(t.substring(2), 16);
                return Math.multiplyExact(v, defaultUnit);
            }
            char last = t.charAt(t.length() - 1);
            long unit = defaultUnit;
            String num = t;
            if (!Character.isDigit(last) && last != '.') {
                unit = switch (last) {
                    case 'b', 'B' -> 1L;
                    case 'k', 'K' -> 1L << 10;
                    case 'm', 'M' -> 1L << 20;
                    case 'g', 'G' -> 1L << 30;
                    case 't', 'T' -> 1L << 40;
                    case 'p', 'P' -> 1L << 50;
                    case 'e', 'E' -> 1L << 60;
                    default -> throw BlockException.invalid("invalid size '" + text + "' for '" + what + "'");
                };
                num = t.substring(0, t.length() - 1);
            }
            BigDecimal v = new BigDecimal(num);
            if (v.signum() < 0) {
                throw BlockException.invalid("invalid size '" + text + "' for '" + what + "'");
            }
            return v.multiply(BigDecimal.valueOf(unit)).setScale(0, java.math.RoundingMode.DOWN).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw BlockException.invalid("invalid size '" + text + "' for '" + what + "'");
        }
    }

    /** qemu-img's human size: {@code 64 MiB}, {@code 1.25 MiB}, {@code 196 KiB}, {@code 512 B}. */
    public static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        if (u == 0) {
            return bytes + " B";
        }
        // qemu-img prints three significant digits (%0.3g) and drops trailing zeros
        String s = new BigDecimal(v).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
        return s + " " + units[u];
    }
}
