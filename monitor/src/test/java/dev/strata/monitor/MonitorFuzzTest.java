package dev.strata.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.monitor.hmp.HmpInterpreter;
import dev.strata.monitor.qmp.QmpServer;
import dev.strata.monitor.qmp.QmpTestClient;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of generated HMP lines and QMP documents (seeded, so a failure replays): every one
 * gets an answer in bounded time, the monitor keeps serving, and the guest-visible disk content
 * is unchanged. Commands that write guest data or create files on purpose are left out of the
 * corpus; everything else, mangled, goes in.
 */
@Timeout(300)
class MonitorFuzzTest {

    static final long SEED = 0x5742A7AL;

    @TempDir
    Path dir;
    TestMachine machine;
    Monitor monitor;
    AtomicInteger quits = new AtomicInteger();

    static final String[] HMP_SEEDS = {
        "info block", "info block -n", "info block -v virtio0", "info block -n -v", "info blockstats", "info status",
        "info version", "info block-jobs", "help", "help info", "help snapshot_blkdev", "info", "stop", "cont",
        "qemu-io virtio0 \"read -P 0xaa 0 64k\"", "qemu-io virtio0 \"read -v 0 16\"", "qemu-io virtio0 \"flush\"",
        "block_job_set_speed virtio0 1k", "block_job_cancel -f virtio0", "block_job_pause virtio0", "block_job_resume nosuch",
        "block_job_complete virtio0", "info block \"vir\\\"tio0\"", "snapshot_blkdev", "snapshot_blkdev nosuch", "commit nosuch",
    };

    static final String[] QMP_SEEDS = {
        "{\"execute\": \"query-status\"}", "{\"execute\": \"query-block\", \"id\": 1}", "{\"execute\": \"query-named-block-nodes\"}",
        "{\"execute\": \"query-blockstats\"}", "{\"execute\": \"query-version\"}", "{\"execute\": \"query-commands\"}",
        "{\"execute\": \"query-block-jobs\"}", "{\"execute\": \"query-jobs\"}", "{\"execute\": \"stop\"}", "{\"execute\": \"cont\"}",
        "{\"execute\": \"block-job-set-speed\", \"arguments\": {\"device\": \"virtio0\", \"speed\": 1024}}",
        "{\"execute\": \"block-job-cancel\", \"arguments\": {\"device\": \"virtio0\", \"force\": true}}",
        "{\"execute\": \"job-dismiss\", \"arguments\": {\"id\": \"x\"}}",
        "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info block\"}}",
        "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}", "{\"exec-oob\": \"query-status\", \"id\": \"o\"}",
    };

    /** Words that would write guest data, create host files or end the session when a mutation lands on them. */
    static final String[] EXCLUDED = {"write", "discard", "-z", "snapshot", "mirror", "backup", "stream", "commit", "quit", "q ", "dev/", "/"};

    @BeforeEach
    void setUp() throws Exception {
        machine = new TestMachine(dir) {
            @Override
            public void quit() {
                quits.incrementAndGet();
            }
        };
        Path disk = dir.resolve("disk.img");
        try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(4 << 20);
            byte[] b = new byte[4 << 20];
            new Random(1).nextBytes(b);
            f.write(b);
        }
        machine.addDrive("virtio0", disk, "raw");
        monitor = machine.monitor();
    }

    @AfterEach
    void tearDown() {
        machine.graph().closeAll();
    }

    private byte[] guestDigest() throws Exception {
        BlockBackend b = machine.graph().backend("virtio0");
        ByteBuffer all = ByteBuffer.allocate((int) b.size());
        b.read(0, all);
        return MessageDigest.getInstance("SHA-256").digest(all.array());
    }

    static String mutate(String s, Random r) {
        StringBuilder sb = new StringBuilder(s);
        int edits = 1 + r.nextInt(4);
        for (int i = 0; i < edits; i++) {
            int pos = sb.isEmpty() ? 0 : r.nextInt(sb.length());
            switch (r.nextInt(7)) {
                case 0 -> { if (!sb.isEmpty()) { sb.deleteCharAt(pos); } }
                case 1 -> sb.insert(pos, (char) (32 + r.nextInt(95)));
                case 2 -> { if (!sb.isEmpty()) { sb.setCharAt(pos, (char) r.nextInt(0x80)); } }
                case 3 -> sb.insert(pos, "\"\\'-{}[]:,".charAt(r.nextInt(10)));
                case 4 -> sb.insert(pos, String.valueOf(r.nextInt(3) == 0 ? Long.MIN_VALUE : r.nextInt(1 << 20)));
                case 5 -> sb.insert(pos, "\u00e9\u2603\ud83d\ude00".charAt(r.nextInt(3)));
                default -> { if (!sb.isEmpty()) { sb.setLength(pos); } }
            }
        }
        return sb.toString();
    }

    static boolean excluded(String s) {
        String l = s.toLowerCase();
        for (String w : EXCLUDED) {
            if (l.contains(w)) {
                return true;
            }
        }
        return false;
    }

    static List<String> corpus(String[] seeds, Random r, int n, boolean json) {
        List<String> out = new ArrayList<>();
        while (out.size() < n) {
            String s;
            int kind = r.nextInt(10);
            if (kind < 6) {
                s = mutate(seeds[r.nextInt(seeds.length)], r);
            } else if (kind < 8) {
                // splice two seeds
                String a = seeds[r.nextInt(seeds.length)];
                String b = seeds[r.nextInt(seeds.length)];
                s = a.substring(0, r.nextInt(a.length() + 1)) + b.substring(r.nextInt(b.length() + 1));
            } else {
                StringBuilder sb = new StringBuilder();
                int len = r.nextInt(80);
                for (int i = 0; i < len; i++) {
                    sb.append((char) (json ? " {}[]\":,0123456789abcdeftrulnx-.\\'".charAt(r.nextInt(33)) : 1 + r.nextInt(0x7e)));
                }
                s = sb.toString();
            }
            s = s.replace("\n", " ").replace("\r", " ");
            if (!excluded(s)) {
                out.add(s);
            }
        }
        return out;
    }

    @Test
    void hmpLinesNeverCrashHangOrTouchData() throws Exception {
        byte[] before = guestDigest();
        HmpInterpreter hmp = monitor.hmp();
        Random r = new Random(SEED);
        List<String> lines = corpus(HMP_SEEDS, r, 4000, false);
        for (String line : lines) {
            String[] out = new String[1];
            Thread t = Thread.ofVirtual().start(() -> out[0] = hmp.executeNow(line));
            t.join(10_000);
            assertTrue(!t.isAlive(), "hung on: " + line);
            assertNotNull(out[0], "no output object for: " + line);
            assertTrue(!out[0].contains("Internal error") && !out[0].contains("internal error"), line + " -> " + out[0]);
        }
        assertEquals("VM status: ", hmp.executeNow("info status").substring(0, 11));
        assertEquals(java.util.HexFormat.of().formatHex(before), java.util.HexFormat.of().formatHex(guestDigest()));
    }

    @Test
    void qmpDocumentsNeverCrashOrTouchData() throws Exception {
        byte[] before = guestDigest();
        try (QmpServer server = QmpServer.start(monitor, dir.resolve("fuzz.qmp"))) {
            Random r = new Random(SEED + 1);
            List<String> docs = corpus(QMP_SEEDS, r, 3000, true);
            int replies = 0;
            // batches on fresh connections: a mutation may leave a string or bracket open, and the
            // server then rightly waits for more; end of input closes the batch and flushes replies
            for (int i = 0; i < docs.size(); i += 25) {
                try (QmpTestClient c = QmpTestClient.connect(server.path())) {
                    c.line();
                    StringBuilder batch = new StringBuilder("{\"execute\": \"qmp_capabilities\"}\n");
                    for (String d : docs.subList(i, Math.min(docs.size(), i + 25))) {
                        batch.append(d).append('\n');
                    }
                    c.send(batch.toString());
                    c.endInput();
                    for (String l = c.line(); l != null; l = c.line()) {
                        replies++;
                        assertTrue(l.startsWith("{\"return\"") || l.startsWith("{\"error\"") || l.startsWith("{\"id\"")
                                || l.startsWith("{\"timestamp\""), l);
                        assertTrue(!l.contains("Internal error"), l);
                    }
                }
            }
            assertTrue(replies > 1500, "replies: " + replies);
            try (QmpTestClient c = QmpTestClient.connect(server.path())) {
                c.line();
                c.send("{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"query-status\", \"id\": 1}\n");
                assertEquals("{\"return\": {}}", c.line());
                assertTrue(c.line().startsWith("{\"return\": {\"status\""));
            }
        }
        assertEquals(java.util.HexFormat.of().formatHex(before), java.util.HexFormat.of().formatHex(guestDigest()));
    }
}
