package dev.strata.harness.script;

/** A script that cannot be parsed or a step that failed; the message starts with {@code FILE:LINE:}. */
public final class ScriptException extends RuntimeException {

    private final int line;

    public ScriptException(String source, int line, String message) {
        super(source + ":" + line + ": " + message);
        this.line = line;
    }

    public int line() {
        return line;
    }
}
