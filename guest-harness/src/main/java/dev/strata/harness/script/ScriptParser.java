package dev.strata.harness.script;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Parses the scenario line format: one step per line, {@code #} starts a comment line, words are
 * separated by blanks and may be double-quoted. Every error names the file and line.
 * Stateless and thread safe.
 */
public final class ScriptParser {

    private static final Duration DEFAULT_WAIT = Duration.ofSeconds(120);

    private ScriptParser() {
    }

    public static List<Step> parse(String source, String text) {
        List<Step> steps = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int no = i + 1;
            String raw = lines[i].strip();
            if (raw.isEmpty() || raw.startsWith("#")) {
                continue;
            }
            int sp = raw.indexOf(' ');
            String verb = sp < 0 ? raw : raw.substring(0, sp);
            String rest = sp < 0 ? "" : raw.substring(sp + 1).strip();
            try {
                steps.add(parseLine(source, no, verb, rest));
            } catch (IllegalArgumentException e) {
                throw new ScriptException(source, no, e.getMessage());
            }
        }
        return steps;
    }

    private static Step parseLine(String src, int no, String verb, String rest) {
        return switch (verb) {
            case "img" -> new Step.Img(no, need(src, no, verb, Words.split(rest), 1));
            case "host" -> new Step.Host(no, need(src, no, verb, Words.split(rest), 1));
            case "fill" -> fill(src, no, Words.split(rest));
            case "check-pattern" -> {
                Step.Fill f = fill(src, no, Words.split(rest));
                yield new Step.CheckPattern(no, f.file(), f.pattern(), f.offset(), f.length());
            }
            case "machine" -> machine(src, no, Words.split(rest));
            case "on" -> on(src, no, rest);
            case "guest" -> new Step.Guest(no, needText(src, no, verb, rest));
            case "sleep" -> new Step.Sleep(no, duration(src, no, needText(src, no, verb, rest)));
            case "hmp" -> new Step.Hmp(no, needText(src, no, verb, rest), false);
            case "hmp!" -> new Step.Hmp(no, needText(src, no, verb, rest), true);
            case "qmp" -> new Step.Qmp(no, needText(src, no, verb, rest), false);
            case "qmp!" -> new Step.Qmp(no, needText(src, no, verb, rest), true);
            case "wait" -> waitStep(src, no, Words.split(rest));
            case "expect", "expect-not" -> {
                String re = needText(src, no, verb, rest);
                try {
                    Pattern.compile(re);
                } catch (PatternSyntaxException e) {
                    throw new ScriptException(src, no, "bad regular expression: " + e.getDescription());
                }
                yield new Step.Expect(no, re, verb.equals("expect-not"));
            }
            case "verify" -> {
                if (!rest.isEmpty()) {
                    throw new ScriptException(src, no, "verify takes no arguments");
                }
                yield new Step.Verify(no);
            }
            case "echo" -> new Step.Echo(no, rest);
            case "report" -> new Step.Report(no, needText(src, no, verb, rest));
            default -> throw new ScriptException(src, no, "unknown step '" + verb
                    + "' (known: img, host, fill, check-pattern, machine, on, guest, sleep, hmp, hmp!, qmp, qmp!, wait, expect, expect-not, verify, echo, report)");
        };
    }

    /** A machine's name: what {@code machine NAME} gives and {@code on NAME:} uses. */
    private static final Pattern MACHINE_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_-]*");
    /** The steps that talk to one machine, and so may be addressed with {@code on NAME:}. */
    private static final java.util.Set<String> MACHINE_STEPS = java.util.Set.of("guest", "hmp", "hmp!", "qmp", "qmp!", "wait", "verify");

    /** {@code machine [NAME] OPTIONS…}: a first word that is not an option is the machine's name. */
    private static Step machine(String src, int no, List<String> w) {
        if (w.isEmpty() || w.get(0).startsWith("-")) {
            return new Step.Machine(no, null, w);
        }
        String name = w.get(0);
        if (!MACHINE_NAME.matcher(name).matches()) {
            throw new ScriptException(src, no, "bad machine name '" + name + "' (a letter, then letters, digits, '-' or '_')");
        }
        return new Step.Machine(no, name, w.subList(1, w.size()));
    }

    /** {@code on NAME: STEP}: one machine step addressed to the machine called NAME. */
    private static Step on(String src, int no, String rest) {
        int colon = rest.indexOf(':');
        String name = colon < 0 ? "" : rest.substring(0, colon).strip();
        if (colon < 0 || !MACHINE_NAME.matcher(name).matches()) {
            throw new ScriptException(src, no, "usage: on NAME: STEP (e.g. on dst: hmp info block)");
        }
        String step = rest.substring(colon + 1).strip();
        int sp = step.indexOf(' ');
        String verb = sp < 0 ? step : step.substring(0, sp);
        if (!MACHINE_STEPS.contains(verb)) {
            throw new ScriptException(src, no, verb.isEmpty() ? "on " + name + ": needs a step"
                    : "'" + verb + "' does not run on a machine; 'on " + name + ":' takes guest, hmp, hmp!, qmp, qmp!, wait or verify");
        }
        return new Step.On(no, name, parseLine(src, no, verb, sp < 0 ? "" : step.substring(sp + 1).strip()));
    }

    private static Step.Fill fill(String src, int no, List<String> w) {
        if (w.size() != 4) {
            throw new ScriptException(src, no, "usage: fill|check-pattern FILE PATTERN OFFSET LENGTH (e.g. fill file-A.img 0xaa 0 8M)");
        }
        int pattern;
        try {
            pattern = Integer.decode(w.get(1));
        } catch (NumberFormatException e) {
            throw new ScriptException(src, no, "pattern must be a byte value such as 0xaa, not '" + w.get(1) + "'");
        }
        if (pattern < 0 || pattern > 255) {
            throw new ScriptException(src, no, "pattern must be a byte value 0..255");
        }
        return new Step.Fill(no, w.get(0), pattern, size(src, no, w.get(2)), size(src, no, w.get(3)));
    }

    private static Step waitStep(String src, int no, List<String> w) {
        if (w.size() < 2 || w.size() > 3 || !(w.get(0).equals("job") || w.get(0).equals("event"))) {
            throw new ScriptException(src, no, "usage: wait job ID [TIMEOUT] | wait event NAME [TIMEOUT]");
        }
        Duration t = w.size() == 3 ? duration(src, no, w.get(2)) : DEFAULT_WAIT;
        return w.get(0).equals("job") ? new Step.WaitJob(no, w.get(1), t) : new Step.WaitEvent(no, w.get(1), t);
    }

    private static long size(String src, int no, String text) {
        try {
            return dev.strata.blockdrv.Sizes.parseBytes(text, "size");
        } catch (RuntimeException e) {
            throw new ScriptException(src, no, "bad size '" + text + "'");
        }
    }

    /** {@code 2s}, {@code 500ms}, {@code 1.5s}, {@code 2m}. */
    static Duration duration(String src, int no, String text) {
        java.util.regex.Matcher m = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m)").matcher(text);
        if (!m.matches()) {
            throw new ScriptException(src, no, "bad duration '" + text + "' (write e.g. 500ms, 2s, 1m)");
        }
        double v = Double.parseDouble(m.group(1));
        long ms = switch (m.group(2)) {
            case "ms" -> (long) v;
            case "s" -> (long) (v * 1000);
            default -> (long) (v * 60_000);
        };
        return Duration.ofMillis(ms);
    }

    private static List<String> need(String src, int no, String verb, List<String> w, int min) {
        if (w.size() < min) {
            throw new ScriptException(src, no, verb + " needs arguments");
        }
        return w;
    }

    private static String needText(String src, int no, String verb, String rest) {
        if (rest.isEmpty()) {
            throw new ScriptException(src, no, verb + " needs an argument");
        }
        return rest;
    }
}
