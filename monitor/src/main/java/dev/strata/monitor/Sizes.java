package dev.strata.monitor;

import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * QEMU's size arguments ({@code qemu_strtosz} and its {@code _MiB} form), for every command that
 * takes one: HMP's {@code o} arguments, the speed word of {@code block_stream}, qemu-io's numbers.
 * Decimal (optionally with a fraction) or {@code 0x} hex, then an optional suffix
 * {@code B K M G T P E} (any case, powers of 1024); a bare number is in the caller's unit.
 *
 * <p>Stateless; any thread.
 */
public final class Sizes {

    /** The unit of a bare number for qemu-io's {@code cvtnum}. */
    public static final long BYTES = 1;
    /** The unit of a bare number for HMP's size arguments ({@code qemu_strtosz_MiB}). */
    public static final long MIB = 1L << 20;

    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);
    private static final BigInteger U64_MAX = TWO_64.subtract(BigInteger.ONE);

    /** A size and the position just after its text (anything after it is left to the caller). */
    public record Parsed(long value, int end) {
    }

    private Sizes() {
    }

    /**
     * Parses the size at {@code start} (leading white space skipped), a bare number counting
     * {@code defaultUnit} bytes. Returns null where QEMU says {@code invalid size}: negative, no
     * digits, overflow, a fraction without a scale, a value above INT64_MAX.
     */
    public static Parsed parse(String s, int start, long defaultUnit) {
        int p = start;
        while (p < s.length() && isSpace(s.charAt(p))) {
            p++;
        }
        boolean negative = false;
        if (p < s.length() && (s.charAt(p) == '+' || s.charAt(p) == '-')) {
            negative = s.charAt(p) == '-';
            p++;
        }
        int digits = p;
        while (p < s.length() && Character.isDigit(s.charAt(p)) && s.charAt(p) < 0x80) {
            p++;
        }
        if (p == digits || negative) {
            return null;
        }
        BigInteger val = new BigInteger(s.substring(digits, p));
        if (val.compareTo(U64_MAX) > 0) {
            return null;
        }
        BigInteger valf = BigInteger.ZERO;
        if (val.signum() == 0 && p < s.length() && (s.charAt(p) == 'x' || s.charAt(p) == 'X')) {
            int h = p + 1;
            int hs = h;
            while (h < s.length() && Character.digit(s.charAt(h), 16) >= 0 && s.charAt(h) < 0x80) {
                h++;
            }
            if (h > hs) {
                val = new BigInteger(s.substring(hs, h), 16);
                if (val.compareTo(U64_MAX) > 0) {
                    return null;
                }
                p = h;
            }
            // "0x" without hex digits parses as 0 ending at the 'x', as strtoull does
            if (p < s.length() && (s.charAt(p) == '.' || suffix(s.charAt(p)) > 0)) {
                return null;
            }
        } else if (p < s.length() && s.charAt(p) == '.') {
            int f = p + 1;
            while (f < s.length() && Character.isDigit(s.charAt(f)) && s.charAt(f) < 0x80) {
                f++;
            }
            if (f < s.length() && (s.charAt(f) == 'e' || s.charAt(f) == 'E') && f > p + 1) {
                // strtod would take an exponent; QEMU then rejects the whole input
                int e = f + 1;
                if (e < s.length() && (s.charAt(e) == '+' || s.charAt(e) == '-')) {
                    e++;
                }
                if (e < s.length() && Character.isDigit(s.charAt(e))) {
                    return null;
                }
            }
            if (f > p + 1) {
                double fraction = Double.parseDouble("0" + s.substring(p, f));
                valf = new BigDecimal(fraction).multiply(new BigDecimal(TWO_64)).toBigInteger();
                if (valf.compareTo(U64_MAX) > 0) {
                    valf = U64_MAX;
                }
            }
            p = f;
        }
        long mul = p < s.length() ? suffix(s.charAt(p)) : -1;
        if (mul > 0) {
            p++;
        } else {
            mul = defaultUnit;
        }
        BigInteger result;
        if (mul == 1) {
            if (valf.signum() != 0) {
                return null;
            }
            result = val;
        } else {
            BigInteger m = BigInteger.valueOf(mul);
            BigInteger fixed = val.multiply(m).shiftLeft(64).add(valf.multiply(m));
            result = fixed.add(BigInteger.ONE.shiftLeft(63)).shiftRight(64);
            if (result.compareTo(U64_MAX) > 0) {
                return null;
            }
        }
        if (result.compareTo(BigInteger.valueOf(Long.MAX_VALUE)) > 0) {
            return null;
        }
        return new Parsed(result.longValue(), p);
    }

    private static long suffix(char c) {
        return switch (Character.toUpperCase(c)) {
            case 'B' -> 1L;
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            case 'T' -> 1L << 40;
            case 'P' -> 1L << 50;
            case 'E' -> 1L << 60;
            default -> -1;
        };
    }

    /** C's {@code isspace}. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == '\f';
    }
}
