package dev.strata.monitor.qmp;

import java.util.function.Consumer;

/**
 * Cuts a character stream into JSON values the way QEMU's json-streamer does: a value ends when
 * its braces and brackets balance (no newline needed, several values per line and values across
 * lines both work); a bare scalar ends at the next delimiter. Strings use {@code "} or QEMU's
 * extension {@code '}. Limits as QEMU's: nesting deeper than {@value #MAX_NESTING} and values
 * larger than the size limit are answered with an error instead of being buffered.
 *
 * <p>One instance per connection, fed from its reader thread only; not thread-safe.
 */
final class JsonStreamer {

    static final int MAX_NESTING = 1024;

    /** What came out: a complete value's text, or an error to report. */
    sealed interface Piece permits Value, Error {
    }

    record Value(String text) implements Piece {
    }

    record Error(String desc) implements Piece {
    }

    private final int maxSize;
    private final Consumer<Piece> sink;
    private final StringBuilder buf = new StringBuilder();
    private int depth;
    private char quote;          // 0 when not inside a string
    private boolean escape;
    private boolean scalar;      // inside a top-level number or keyword
    private boolean oversized;   // dropping the rest of a too-large value
    private boolean skipLine;    // dropping the rest of the line after a nesting error

    JsonStreamer(int maxSize, Consumer<Piece> sink) {
        this.maxSize = maxSize;
        this.sink = sink;
    }

    void feed(CharSequence chars) {
        for (int i = 0; i < chars.length(); i++) {
            feed(chars.charAt(i));
        }
    }

    void feed(char c) {
        if (skipLine) {
            if (c == '\n') {
                skipLine = false;
            }
            return;
        }
        if (scalar) {
            if (Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '+') {
                append(c);
                return;
            }
            scalar = false;
            finishScalar();
        }
        if (quote != 0) {
            append(c);
            if (escape) {
                escape = false;
            } else if (c == '\\') {
                escape = true;
            } else if (c == quote) {
                quote = 0;
                if (depth == 0) {
                    emit();
                }
            }
            return;
        }
        switch (c) {
            case '{', '[' -> {
                depth++;
                append(c);
                if (depth > MAX_NESTING) {
                    reset();
                    skipLine = true;
                    sink.accept(new Error("JSON nesting depth limit exceeded"));
                }
            }
            case '}', ']' -> {
                append(c);
                depth--;
                if (depth <= 0) {
                    emit();
                }
            }
            case '"', '\'' -> {
                quote = c;
                append(c);
            }
            case ' ', '\t', '\r', '\n' -> {
                if (depth > 0) {
                    append(c);
                }
            }
            default -> {
                if (depth > 0) {
                    append(c);
                } else if (Character.isLetterOrDigit(c) || c == '-') {
                    scalar = true;
                    append(c);
                } else {
                    sink.accept(new Error("JSON parse error, stray '" + c + "'"));
                }
            }
        }
    }

    private void append(char c) {
        if (oversized) {
            return;
        }
        if (buf.length() >= maxSize) {
            oversized = true;
            buf.setLength(0);
            return;
        }
        buf.append(c);
    }

    private void finishScalar() {
        String t = buf.toString();
        if (!oversized && !t.isEmpty() && Character.isLetter(t.charAt(0))
                && !t.equals("true") && !t.equals("false") && !t.equals("null")) {
            reset();
            sink.accept(new Error("JSON parse error, invalid keyword '" + t + "'"));
            return;
        }
        emit();
    }

    private void emit() {
        Piece p = oversized ? new Error("JSON token size limit exceeded") : new Value(buf.toString());
        reset();
        sink.accept(p);
    }

    private void reset() {
        buf.setLength(0);
        depth = 0;
        quote = 0;
        escape = false;
        scalar = false;
        oversized = false;
    }
}
