package dev.strata.harness.bench;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bench migrate --guest}: the guest's side of a migration. A Strata source runs its
 * synthetic guest on the disk (4 KiB random writes, 8 deep, capped at 5,000 IOPS) while the
 * mirror copies it to READY over the link; {@code x-strata-query-guest} is sampled twice a second
 * (each sample is the guest's last second: IOPS and p99). Prints the idle p99 (the second before
 * the job), the highest and the median per-second p99 during the copy, and the IOPS; then the machine
 * is stopped and the job cancelled. The copy is not compared here: QMP {@code stop} does not stop
 * the synthetic guest's queued requests the way QEMU's drain does (seen as mismatches after the
 * machine closed), and the timed rounds verify the copy. Strata only: QEMU here has no guest. The guest writes, so it runs on its own copy of the chain. One benchmark thread plus a
 * sampler thread that only sends.
 */
final class GuestDuringMigration {

    static final long GUEST_IOPS = 5000;
    private static final Pattern P99 = Pattern.compile("\"p99-ns\": (\\d+)");
    private static final Pattern IOPS = Pattern.compile("\"iops\": ([0-9.]+)");

    private GuestDuringMigration() {
    }

    /** Runs once on {@code link} onto {@code server}; returns a one-line summary. */
    static String run(MigrationLink link, String server, Path chain, long size, Path dir) throws Exception {
        Path copy = Files.createDirectories(dir.resolve("guest-chain"));
        for (String layer : List.of("L0.qcow2", "L1.qcow2", "L2.qcow2")) {
            Files.copy(chain.resolve(layer), copy.resolve(layer), StandardCopyOption.REPLACE_EXISTING);
        }
        Path top = copy.resolve("L2.qcow2");
        Path dst = dir.resolve("dst.qcow2");
        Files.deleteIfExists(dst);
        MigrateBench.Tools.run(dir, "qemu-img", "create", "-q", "-f", "qcow2", dst.toString(), Long.toString(size));
        try (MigrationLink.Served s = link.serve(server, dst)) {
            return sample(link, s, top, dir);
        }
    }

    private static String sample(MigrationLink link, MigrationLink.Served dst, Path top, Path dir) throws Exception {
        Path sock = dir.resolve("guest-source.qmp");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseZGC",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.strata.harness.Main",
                "-monitor", "none", "-qmp", "unix:" + sock + ",server=on,wait=off",
                "-drive", "file=" + top + ",if=virtio,id=drive0,format=qcow2",
                "-guest", "drive=drive0,rw=randwrite,bs=4k,iodepth=8,rate_iops=" + GUEST_IOPS + ",seed=9"));
        Process p = new ProcessBuilder(link.sourceCommand(cmd)).redirectErrorStream(true)
                .redirectOutput(dir.resolve("guest-source.log").toFile()).start();
        try (SocketChannel ch = QmpMirror.connect(sock, p)) {
            StringBuilder in = new StringBuilder();
            QmpMirror.readUntil(ch, in, "\"QMP\"");
            QmpMirror.command(ch, in, "qmp_capabilities", "");
            QmpMirror.command(ch, in, "blockdev-add", "\"driver\": \"nbd\", \"node-name\": \"remote\", \"export\": \"\", \"server\": "
                    + dst.serverJson());
            Thread.sleep(2000); // the guest settles at its rate
            String idle = query(ch, in, "idle");
            in.setLength(0);
            Thread sampler = Thread.ofPlatform().daemon().name("guest-sampler").start(() -> {
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        Thread.sleep(500);
                        QmpMirror.send(ch, "{\"execute\": \"x-strata-query-guest\", \"id\": \"s\"}");
                    }
                } catch (InterruptedException | IOException e) {
                    // sampling ends with the copy
                }
            });
            long start = System.nanoTime();
            String during;
            try {
                QmpMirror.send(ch, "{\"execute\": \"blockdev-mirror\", \"arguments\": {\"job-id\": \"drive0\", \"device\": \"drive0\", "
                        + "\"target\": \"remote\", \"sync\": \"full\"}}");
                QmpMirror.readUntil(ch, in, "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED");
                if (in.indexOf("BLOCK_JOB_READY") < 0) {
                    throw new IOException("the mirror ended before READY: " + in);
                }
                during = in.substring(0, in.indexOf("BLOCK_JOB_READY"));
            } finally {
                sampler.interrupt();
                sampler.join();
            }
            long ns = System.nanoTime() - start;
            query(ch, in, "sync");  // every sample's reply is in before the next command
            in.setLength(0);
            QmpMirror.command(ch, in, "stop", "");
            QmpMirror.cancel(ch, in, "drive0");
            QmpMirror.send(ch, "{\"execute\": \"quit\"}");
            long[] p99 = all(P99, during);
            double[] iops = IOPS.matcher(during).results()
                    .mapToDouble(r -> Double.parseDouble(r.group(1))).toArray();
            long[] sorted = p99.clone();
            java.util.Arrays.sort(sorted);
            double meanIops = java.util.Arrays.stream(iops).average().orElse(0);
            return String.format(Locale.ROOT, "guest %d IOPS cap: idle p99 %.2f ms; during the copy (%.1f s to READY, %d samples of "
                            + "the last second): p99 median %.2f ms, highest %.2f ms, IOPS %.0f (target p99 <= 10 ms: %s)",
                    GUEST_IOPS, first(P99, idle) / 1e6, ns / 1e9, sorted.length, sorted.length == 0 ? 0 : sorted[sorted.length / 2] / 1e6,
                    sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6, meanIops,
                    sorted.length > 0 && sorted[sorted.length / 2] <= 10_000_000L ? "met (median second)" : "NOT met");
        } finally {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Sends x-strata-query-guest with {@code id} and returns everything read up to its reply. */
    private static String query(SocketChannel ch, StringBuilder in, String id) throws IOException {
        QmpMirror.send(ch, "{\"execute\": \"x-strata-query-guest\", \"id\": \"" + id + "\"}");
        String key = "\"id\": \"" + id + "\"";
        QmpMirror.readUntil(ch, in, key);
        int end = in.indexOf("\n", in.indexOf(key));
        return in.substring(0, end < 0 ? in.length() : end);
    }

    private static long[] all(Pattern p, String s) {
        return p.matcher(s).results().mapToLong(r -> Long.parseLong(r.group(1))).toArray();
    }

    private static long first(Pattern p, String s) {
        Matcher m = p.matcher(s.substring(Math.max(0, s.lastIndexOf("\"return\""))));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
}
