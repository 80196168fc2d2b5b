package dev.strata.monitor.hmp;

import java.util.ArrayList;
import java.util.List;

/**
 * One entry of QEMU's HMP {@code args_type} string ({@code name:type[?]}), e.g. {@code device:B},
 * {@code speed:o?}, {@code force:-f}.
 *
 * @param name     the argument (QDict key) name
 * @param type     the type letter: {@code B} block device, {@code s} string, {@code F} file name,
 *                 {@code S} rest of line, {@code o} size (default MiB), {@code b} on/off,
 *                 {@code -} flag
 * @param flag     for {@code -} the option letter, else 0
 * @param optional trailing {@code ?}
 */
public record HmpArg(String name, char type, char flag, boolean optional) {

    private static final String TYPES = "BsFSob-";

    /** Parses an args_type string; fails on a letter Strata does not implement. */
    public static List<HmpArg> parse(String argsType) {
        List<HmpArg> out = new ArrayList<>();
        if (argsType == null || argsType.isEmpty()) {
            return out;
        }
        for (String part : argsType.split(",")) {
            int colon = part.indexOf(':');
            if (colon <= 0 || colon == part.length() - 1) {
                throw new IllegalArgumentException("bad args_type entry '" + part + "' in '" + argsType + "'");
            }
            String name = part.substring(0, colon);
            String t = part.substring(colon + 1);
            char type = t.charAt(0);
            if (TYPES.indexOf(type) < 0) {
                throw new IllegalArgumentException("args_type letter '" + type + "' is not supported in '" + argsType + "'");
            }
            if (type == '-') {
                if (t.length() != 2) {
                    throw new IllegalArgumentException("flag needs one letter: '" + part + "'");
                }
                out.add(new HmpArg(name, '-', t.charAt(1), true));
            } else {
                boolean opt = t.length() > 1 && t.charAt(1) == '?';
                if (t.length() > (opt ? 2 : 1)) {
                    throw new IllegalArgumentException("bad args_type entry '" + part + "'");
                }
                out.add(new HmpArg(name, type, (char) 0, opt));
            }
        }
        return out;
    }
}
