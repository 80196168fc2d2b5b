package dev.strata.monitor.watch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Draws one {@code x-strata-query-chain} entry as text in the seed's notation, base at the left
 * and the device at the right, each running job drawn under the span of layers it works on, then
 * one line per layer:
 *
 * <pre>
 * [A] &lt;- [B] &lt;- [C] &lt;- [D] &lt;- [E] &lt;- virtio0
 *        '====== stream virtio0 42% =====&gt;'
 *   [A] node-A  /tmp/demo/file-A.img (qcow2)  8.0 MiB allocated of 128 MiB
 * </pre>
 *
 * Stream points at the image it fills (right), commit at the base it fills (left); mirror and
 * backup mark their source and name the target beside the chain. Stateless; any thread.
 */
final class ChainText {

    private static final String LINK = " <- ";

    private ChainText() {
    }

    static List<String> lines(JsonNode chain) {
        List<String> out = new ArrayList<>();
        JsonNode layers = chain.get("layers");
        List<String> labels = new ArrayList<>();
        List<Integer> columns = new ArrayList<>();
        StringBuilder top = new StringBuilder();
        for (JsonNode l : layers) {
            if (top.length() > 0) {
                top.append(LINK);
            }
            columns.add(top.length());
            labels.add(l.get("label").asText());
            top.append('[').append(l.get("label").asText()).append(']');
        }
        if (chain.has("device")) {
            top.append(LINK).append(chain.get("device").asText());
        }
        out.add(top.toString());
        for (JsonNode j : chain.get("jobs")) {
            out.add(jobLine(j, labels, columns));
        }
        for (JsonNode l : layers) {
            long alloc = l.get("allocated").asLong();
            out.add(String.format(Locale.ROOT, "  [%s] %s  %s (%s)  %s allocated of %s", l.get("label").asText(),
                    l.get("node-name").asText(), l.get("filename").asText(), l.get("format").asText(),
                    alloc < 0 ? "?" : size(alloc), size(l.get("virtual-size").asLong())));
        }
        return out;
    }

    private static String jobLine(JsonNode j, List<String> labels, List<Integer> columns) {
        int first = Integer.MAX_VALUE;
        int last = -1;
        for (JsonNode l : j.get("layers")) {
            int i = labels.indexOf(l.asText());
            first = Math.min(first, i);
            last = Math.max(last, i);
        }
        int from = columns.get(first);
        int to = columns.get(last) + labels.get(last).length() + 1;
        String status = j.get("status").asText();
        String label = " " + j.get("type").asText() + " " + j.get("id").asText() + " " + j.get("percent").asInt() + "%"
                + (status.equals("running") ? "" : " " + status) + " ";
        StringBuilder s = new StringBuilder(" ".repeat(from));
        int width = to - from + 1;
        boolean toBase = j.get("type").asText().equals("commit");
        if (width >= label.length() + 4) {
            int fill = width - 2 - label.length();
            s.append(toBase ? '<' : '\'').append("=".repeat(fill / 2)).append(label)
                    .append("=".repeat(fill - fill / 2)).append(toBase ? '\'' : '>');
        } else if (first != last) {
            // too narrow for the label inside: the arrow over the span, the label after it
            s.append(toBase ? '<' : '\'').append("=".repeat(width - 2)).append(toBase ? '\'' : '>').append(label.stripTrailing());
        } else {
            s.append(" ".repeat((width - 1) / 2)).append('^').append(label.stripTrailing());
        }
        if (j.has("target")) {
            JsonNode t = j.get("target");
            s.append(" ==> ").append(t.get("filename").asText()).append(" (").append(t.get("node-name").asText()).append(')');
        }
        return s.toString().stripTrailing();
    }

    /** Sizes as people read them: {@code 0 B}, {@code 64 KiB}, {@code 8.0 MiB}, {@code 1.5 GiB}. */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1 << 20) {
            return String.format(Locale.ROOT, "%.0f KiB", bytes / 1024.0);
        }
        if (bytes < 1L << 30) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
        }
        return String.format(Locale.ROOT, "%.1f GiB", bytes / 1073741824.0);
    }
}
