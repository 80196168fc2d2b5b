package dev.strata.harness.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * While a throttled job runs, QEMU 7.2 shows its filter node ({@code copy-on-read} for stream,
 * {@code mirror_top} for mirror and active commit, {@code commit_top} for intermediate commit,
 * {@code copy-before-write} for backup) in {@code query-named-block-nodes}, {@code info block -n}
 * and, for backup, {@code info block}. The same job on the same chain runs on QEMU and on Strata
 * and the listings must read the same once node names, directories and sizes on disk are set
 * aside: the HMP text exactly, and every member of each filter entry of both forms of
 * {@code query-named-block-nodes} (nested image chains included, members sorted since QEMU orders
 * them by hash). After the job, the filter is gone.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class JobFilterNodesTest {

    @TempDir
    Path dir;

    private static final String[] JOBS = {
        "{\"execute\": \"block-stream\", \"arguments\": {\"device\": \"d0\", \"speed\": 65536}}",
        "{\"execute\": \"drive-mirror\", \"arguments\": {\"device\": \"d0\", \"target\": \"DIR/m.qcow2\", \"sync\": \"full\", \"speed\": 65536}}",
        "{\"execute\": \"block-commit\", \"arguments\": {\"device\": \"d0\", \"speed\": 65536}}",
        "{\"execute\": \"block-commit\", \"arguments\": {\"device\": \"d0\", \"top\": \"DIR/mid.qcow2\", \"speed\": 65536}}",
        "{\"execute\": \"drive-backup\", \"arguments\": {\"device\": \"d0\", \"target\": \"DIR/b.qcow2\", \"sync\": \"full\", \"speed\": 65536}}",
    };
    private static final String[] LOOKS = {
        "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info block -n\"}}",
        "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info block\"}}",
        "{\"execute\": \"query-named-block-nodes\", \"arguments\": {\"flat\": true}}",
        "{\"execute\": \"query-named-block-nodes\"}",
    };

    private static void chain(Path d) throws IOException {
        Files.createDirectories(d);
        Tools.must(d, "qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "64M");
        Tools.must(d, "qemu-io", "-f", "qcow2", "-c", "write -q -P 1 0 32M", "base.qcow2");
        Tools.must(d, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2");
        Tools.must(d, "qemu-io", "-f", "qcow2", "-c", "write -q -P 2 8M 8M", "mid.qcow2");
        Tools.must(d, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2");
    }

    /** QEMU 7.2 over QMP on stdio: the replies to {@code commands}, in order (events and other lines skipped). */
    private static List<String> qemu(Path d, List<String> commands) throws Exception {
        Process p = new ProcessBuilder("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none", "-qmp", "stdio",
                "-drive", "file=" + d.resolve("top.qcow2") + ",if=none,id=d0").directory(d.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> replies = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
             OutputStream out = p.getOutputStream()) {
            in.readLine(); // greeting
            List<String> all = new ArrayList<>(List.of("{\"execute\": \"qmp_capabilities\"}"));
            all.addAll(commands);
            all.add("{\"execute\": \"quit\"}");
            for (String c : all) {
                if (c.startsWith("sleep ")) {
                    Thread.sleep(Long.parseLong(c.substring(6)));
                    continue;
                }
                out.write((c + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                for (String l = in.readLine(); l != null; l = in.readLine()) {
                    if (l.startsWith("{\"return\"") || l.startsWith("{\"error\"")) {
                        replies.add(l);
                        break;
                    }
                }
            }
        }
        p.waitFor();
        return replies.subList(1, replies.size() - 1);
    }

    private static List<String> strata(Path d, List<String> commands) throws Exception {
        List<String> replies = new ArrayList<>();
        try (FaultRig rig = new FaultRig(d, "-drive", "file=" + d.resolve("top.qcow2") + ",if=none,id=d0")) {
            for (String c : commands) {
                if (c.startsWith("sleep ")) {
                    Thread.sleep(Long.parseLong(c.substring(6)));
                } else {
                    replies.add(rig.call(c));
                }
            }
        }
        return replies;
    }

    /** Node names, directories, sizes on disk and JSON member order set aside. */
    private static String normalise(String reply, Path d) {
        String s = reply.replace(d + "/", "").replaceAll("#block\\d+", "#blockN").replaceAll("\"actual-size\": \\d+", "\"actual-size\": X");
        if (s.startsWith("{\"return\": \"")) {
            return s.substring(12, s.length() - 2).replace("\\r\\n", "\n").replace("\\n", "\n");
        }
        return canonicalObjects(s);
    }

    /** The filter nodes of a query-named-block-nodes reply, each as its sorted top-level members. */
    private static String canonicalObjects(String json) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"drv\": \"(copy-on-read|mirror_top|commit_top|copy-before-write)\"").matcher(json);
        while (m.find()) {
            int start = json.lastIndexOf("{\"", m.start());
            // walk back to the object that holds this drv member (skip nested image objects)
            int depth = 0;
            for (int i = m.start(); i >= 0; i--) {
                char ch = json.charAt(i);
                if (ch == '}') {
                    depth++;
                } else if (ch == '{') {
                    if (depth == 0) {
                        start = i;
                        break;
                    }
                    depth--;
                }
            }
            out.add(String.join(" ", topLevelMembers(json, start)));
        }
        return String.join("\n", out);
    }

    private static List<String> topLevelMembers(String json, int start) {
        List<String> members = new ArrayList<>();
        int depth = 0;
        int memberStart = start + 1;
        for (int i = start + 1; i < json.length(); i++) {
            char ch = json.charAt(i);
            if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (depth == 0) {
                    members.add(json.substring(memberStart, i).trim());
                    break;
                }
                depth--;
            } else if (ch == ',' && depth == 0) {
                members.add(json.substring(memberStart, i).trim());
                memberStart = i + 1;
            }
        }
        // QEMU orders members by hash: nested objects are compared with their members sorted too;
        // the copy-before-write filter's two anonymous bitmaps are not modelled (docs/monitor.md)
        members.removeIf(x -> x.startsWith("\"dirty-bitmaps\""));
        List<String> canonical = new ArrayList<>();
        for (String m : members) {
            int colon = m.indexOf(':');
            String value = m.substring(colon + 1).trim();
            canonical.add(m.substring(0, colon + 1) + " " + (value.startsWith("{") ? "{" + String.join(", ", topLevelMembers(value, 0)) + "}" : value));
        }
        canonical.sort(null);
        return canonical;
    }

    @Test
    void jobFiltersAreListedAsQemuListsThem() throws Exception {
        assumeTrue(Tools.qemuAvailable(), "qemu-img missing: job filter nodes NOT compared with QEMU");
        try {
            assumeTrue(new ProcessBuilder("qemu-system-x86_64", "--version").start().waitFor() == 0);
        } catch (IOException e) {
            assumeTrue(false, "qemu-system-x86_64 missing: job filter nodes NOT compared with QEMU");
        }
        int i = 0;
        for (String job : JOBS) {
            Path q = dir.resolve("q" + i);
            Path s = dir.resolve("s" + i);
            i++;
            chain(q);
            chain(s);
            List<String> qc = new ArrayList<>(List.of(job.replace("DIR", q.toString()), "sleep 300"));
            List<String> sc = new ArrayList<>(List.of(job.replace("DIR", s.toString()), "sleep 300"));
            qc.addAll(List.of(LOOKS));
            sc.addAll(List.of(LOOKS));
            qc.add("{\"execute\": \"block-job-cancel\", \"arguments\": {\"device\": \"d0\", \"force\": true}}");
            sc.add("{\"execute\": \"block-job-cancel\", \"arguments\": {\"device\": \"d0\", \"force\": true}}");
            qc.add("sleep 300");
            sc.add("sleep 300");
            qc.add(LOOKS[0]);
            sc.add(LOOKS[0]);
            List<String> qr = qemu(q, qc);
            List<String> sr = strata(s, sc);
            assertEquals("{\"return\": {}}", sr.get(0), job);
            for (int k = 1; k <= LOOKS.length; k++) {
                assertEquals(normalise(qr.get(k), q), normalise(sr.get(k), s), job + "\nreply to " + LOOKS[k - 1]);
            }
            assertTrue(!normalise(sr.get(sr.size() - 1), s).contains("_top") && !normalise(sr.get(sr.size() - 1), s).contains("copy-"),
                    "filter left after the job: " + sr.get(sr.size() - 1));
        }
    }
}
