package dev.strata.monitor.hmp;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.monitor.Json;
import dev.strata.monitor.Sizes;
import java.util.List;

/**
 * Parses the words after an HMP command name by the command's {@code args_type}, following QEMU
 * 7.2's {@code monitor_parse_arguments} rule by rule (flags only where declared and only before
 * the next argument, optional positionals, double-quoted strings with C escapes, sizes with a
 * MiB default unit) and printing its messages on failure.
 *
 * <p>Stateless; any thread.
 */
public final class HmpParser {

    /** QEMU parses into a 1024-byte buffer; longer words are cut, silently, as there. */
    static final int MAX_WORD = 1023;

    private HmpParser() {
    }

    /**
     * Parses {@code line} from {@code pos}.
     *
     * @param name the name QEMU prints in messages ({@code cmd->name}: {@code block}, {@code cont|c})
     * @param out  receives the error text when parsing fails
     * @return the arguments, or null after printing why not
     */
    public static ObjectNode parse(String name, String argsType, String line, int pos, StringBuilder out) {
        List<HmpArg> args = HmpArg.parse(argsType);
        ObjectNode result = Json.object();
        int p = pos;
        for (int i = 0; i < args.size(); i++) {
            HmpArg a = args.get(i);
            switch (a.type()) {
                case 'B', 's', 'F' -> {
                    p = skipSpace(line, p);
                    if (a.optional() && p >= line.length()) {
                        break;
                    }
                    StringBuilder word = new StringBuilder();
                    int end = getStr(line, p, word);
                    if (end < 0) {
                        out.append(name).append(switch (a.type()) {
                            case 'F' -> ": filename expected\n";
                            case 'B' -> ": block device name expected\n";
                            default -> ": string expected\n";
                        });
                        return null;
                    }
                    p = end;
                    result.put(a.name(), word.toString());
                }
                case 'S' -> {
                    p = skipSpace(line, p);
                    if (a.optional() && p >= line.length()) {
                        break;
                    }
                    if (p >= line.length()) {
                        out.append(name).append(": string expected\n");
                        return null;
                    }
                    result.put(a.name(), line.substring(p));
                    p = line.length();
                }
                case 'o' -> {
                    p = skipSpace(line, p);
                    if (a.optional() && p >= line.length()) {
                        break;
                    }
                    Sizes.Parsed size = Sizes.parse(line, p, Sizes.MIB);
                    if (size == null) {
                        out.append("invalid size\n");
                        return null;
                    }
                    result.put(a.name(), size.value());
                    p = size.end();
                }
                case 'b' -> {
                    p = skipSpace(line, p);
                    int beg = p;
                    while (p < line.length() && isGraph(line.charAt(p))) {
                        p++;
                    }
                    String w = line.substring(beg, p);
                    if (w.equals("on")) {
                        result.put(a.name(), true);
                    } else if (w.equals("off")) {
                        result.put(a.name(), false);
                    } else {
                        out.append("Expected 'on' or 'off'\n");
                        return null;
                    }
                }
                case '-' -> {
                    int save = p;
                    p = skipSpace(line, p);
                    if (p < line.length() && line.charAt(p) == '-') {
                        p++;
                        char c = p < line.length() ? line.charAt(p) : 0;
                        if (c != a.flag()) {
                            // another flag declared later may own this letter; then leave it to that one
                            String rest = laterTypes(args, i);
                            boolean later = c == 0 ? rest.contains("-") : rest.contains("-" + c);
                            if (!later) {
                                // QEMU prints the letter with %c: an end of line (NUL) also ends the message, newline included
                                out.append(name).append(": unsupported option -");
                                if (c != 0) {
                                    out.append(c).append('\n');
                                }
                                return null;
                            }
                            p = save;
                        } else {
                            p++;
                            result.put(a.name(), true);
                        }
                    }
                }
                default -> throw new IllegalStateException("unreachable: " + a.type());
            }
        }
        p = skipSpace(line, p);
        if (p < line.length()) {
            out.append(name).append(": extraneous characters at the end of line\n");
            return null;
        }
        return result;
    }

    /** The args_type text after entry {@code i}: where QEMU's {@code is_valid_option} looks for a flag. */
    private static String laterTypes(List<HmpArg> args, int i) {
        StringBuilder sb = new StringBuilder();
        for (int j = i + 1; j < args.size(); j++) {
            HmpArg a = args.get(j);
            sb.append(',').append(a.name()).append(':').append(a.type());
            if (a.type() == '-') {
                sb.append(a.flag());
            } else if (a.optional()) {
                sb.append('?');
            }
        }
        return sb.toString();
    }

    static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == '\f';
    }

    private static boolean isGraph(char c) {
        return c > ' ' && c < 0x7f;
    }

    static int skipSpace(String s, int p) {
        while (p < s.length() && isSpace(s.charAt(p))) {
            p++;
        }
        return p;
    }

    /**
     * QEMU's {@code get_str}: one word, or a double-quoted string with the escapes {@code \n \r
     * \\ \' \"}. Returns the position after it, or -1 (nothing there, unterminated string, bad
     * escape).
     */
    static int getStr(String s, int p, StringBuilder word) {
        p = skipSpace(s, p);
        if (p >= s.length()) {
            return -1;
        }
        if (s.charAt(p) == '"') {
            p++;
            while (p < s.length() && s.charAt(p) != '"') {
                char c = s.charAt(p);
                if (c == '\\') {
                    p++;
                    if (p >= s.length()) {
                        return -1;
                    }
                    char e = s.charAt(p++);
                    switch (e) {
                        case 'n' -> c = '\n';
                        case 'r' -> c = '\r';
                        case '\\', '\'', '"' -> c = e;
                        default -> {
                            return -1;
                        }
                    }
                } else {
                    p++;
                }
                if (word.length() < MAX_WORD) {
                    word.append(c);
                }
            }
            if (p >= s.length()) {
                return -1;
            }
            return p + 1;
        }
        while (p < s.length() && !isSpace(s.charAt(p))) {
            if (word.length() < MAX_WORD) {
                word.append(s.charAt(p));
            }
            p++;
        }
        return p;
    }
}
