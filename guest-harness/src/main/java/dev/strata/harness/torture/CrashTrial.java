package dev.strata.harness.torture;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One crash trial: a fresh {@link ChainFixture}, a Strata machine in a child JVM running a
 * verifying, journaling guest workload on it, the {@link Scenario}'s action over QMP, SIGKILL at
 * a moment drawn from the seed, then the verdict: {@code qemu-img check} on every image (leaks
 * repaired by {@code strata img check -r leaks}), the active image's backing file one of the
 * scenario's legal ones, the chain opening in qemu-img and in Strata, and every durable write
 * present as both Strata and qemu-img read the disk ({@link DataJudge}).
 *
 * <p>Used from one thread at a time; all state is local to {@link #run}.
 */
public final class CrashTrial {

    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(60);
    private static final int[] BLOCK_SIZES = {4096, 8192, 16384, 65536};
    private static final int[] DEPTHS = {1, 4, 8, 16};
    private static final int[] FSYNCS = {1, 4, 16};

    private CrashTrial() {
    }

    /** Runs trial {@code index} in {@code dir} (created; left in place for post-mortems). */
    public static TrialOutcome run(Path dir, int index, long seed, Scenario scenario) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        SplittableRandom rnd = new SplittableRandom(seed);
        Path top = ChainFixture.create(dir);
        long[] baseline;
        BlockGraph g = new BlockGraph();
        try {
            baseline = DataJudge.baseline(g.open(BlockOptions.parse("file=" + top + ",read-only=on", "file")), 0, ChainFixture.WINDOW);
        } finally {
            g.closeAll();
        }
        int bs = BLOCK_SIZES[rnd.nextInt(BLOCK_SIZES.length)];
        int depth = DEPTHS[rnd.nextInt(DEPTHS.length)];
        int fsync = FSYNCS[rnd.nextInt(FSYNCS.length)];
        String workload = "bs=" + bs + ",iodepth=" + depth + ",fsync=" + fsync;
        Path journal = dir.resolve("journal");
        Path sock = dir.resolve("q.sock");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), "dev.strata.harness.Main", "-nodefaults",
                "-drive", "file=" + top + ",format=qcow2,if=virtio,node-name=top,backing.node-name=mid,backing.backing.node-name=base",
                "-qmp", "unix:" + sock + ",server=on,wait=off",
                "-guest", "drive=virtio0,rw=randrw,rwmixread=30,verify=on,size=" + ChainFixture.WINDOW + ",bs=" + bs
                        + ",iodepth=" + depth + ",fsync=" + fsync + ",seed=" + (seed & Long.MAX_VALUE) + ",journal=" + journal));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(dir.resolve("child.out").toFile()).redirectError(dir.resolve("child.err").toFile());
        Process child = pb.start();
        // a torture run stopped with ^C or SIGTERM must not leave its machine running
        Thread reaper = new Thread(child::destroyForcibly, "torture-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
        List<String> problems = new ArrayList<>();
        long killAfter = 0;
        String phase = "?";
        boolean snapshotAcked = false;
        try (QmpLink q = QmpLink.connect(sock, QMP_TIMEOUT)) {
            awaitFirstDurableWrite(journal, child);
            long t0 = System.nanoTime();
            int speed = (4 + rnd.nextInt(13)) << 20;
            switch (scenario) {
                case NONE -> sleep(200 + rnd.nextInt(2000));
                case STREAM -> start(q, "block-stream", "\"device\": \"virtio0\", \"speed\": " + speed, rnd, 4000);
                case COMMIT -> start(q, "block-commit", "\"device\": \"virtio0\", \"top-node\": \"mid\", \"base-node\": \"base\", \"speed\": " + speed, rnd, 4000);
                case MIRROR -> start(q, "drive-mirror", "\"device\": \"virtio0\", \"target\": \"" + dir.resolve("mirror.qcow2")
                        + "\", \"format\": \"qcow2\", \"sync\": \"full\", \"speed\": " + speed, rnd, 6000);
                case BACKUP -> start(q, "drive-backup", "\"device\": \"virtio0\", \"target\": \"" + dir.resolve("backup.qcow2")
                        + "\", \"format\": \"qcow2\", \"sync\": \"full\", \"speed\": " + speed, rnd, 6000);
                case STREAM_END -> runToEnd(q, "block-stream", "\"device\": \"virtio0\"", rnd);
                case COMMIT_END -> runToEnd(q, "block-commit", "\"device\": \"virtio0\", \"top-node\": \"mid\", \"base-node\": \"base\"", rnd);
                case SNAPSHOT -> {
                    CompletableFuture<String> reply = CompletableFuture.supplyAsync(() -> {
                        try {
                            return q.call("{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": {\"device\": \"virtio0\", "
                                    + "\"snapshot-file\": \"" + dir.resolve("snap.qcow2") + "\", \"format\": \"qcow2\"}}", QMP_TIMEOUT);
                        } catch (IOException | InterruptedException e) {
                            return "";
                        }
                    });
                    sleep(rnd.nextInt(40));
                    snapshotAcked = reply.isDone() && reply.getNow("").startsWith("{\"return\"");
                }
            }
            phase = scenario == Scenario.SNAPSHOT ? (snapshotAcked ? "snapshot replied" : "snapshot in flight") : jobPhase(q);
            killAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            if (!child.isAlive()) {
                problems.add("the machine exited by itself (status " + child.exitValue() + "): " + tail(dir.resolve("child.err")));
            }
        } catch (IOException e) {
            problems.add("driving the machine failed: " + e.getMessage() + " / " + tail(dir.resolve("child.err")));
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no flush, no close
            child.waitFor(30, TimeUnit.SECONDS);
            Runtime.getRuntime().removeShutdownHook(reaper);
        }
        return judge(dir, index, seed, scenario, workload, killAfter, phase, snapshotAcked, baseline, journal, problems);
    }

    private static TrialOutcome judge(Path dir, int index, long seed, Scenario scenario, String workload, long killAfter,
                                      String phase, boolean snapshotAcked, long[] baseline, Path journalFile,
                                      List<String> problems) throws IOException {
        Path top = dir.resolve("top.qcow2");
        Path active = top;
        long leaks = 0;
        List<Path> images = new ArrayList<>(List.of(dir.resolve("base.qcow2"), dir.resolve("mid.qcow2"), top));
        for (String extra : List.of("mirror.qcow2", "backup.qcow2")) {
            if (ImageJudge.present(dir.resolve(extra))) {
                images.add(dir.resolve(extra));
            }
        }
        Path snap = dir.resolve("snap.qcow2");
        if (scenario == Scenario.SNAPSHOT && ImageJudge.present(snap)) {
            ImageJudge.Check c = ImageJudge.check(snap);
            leaks += c.leaks();
            String b = "";
            boolean opens;
            try {
                b = ImageJudge.backingOf(snap);
                opens = true;
            } catch (IOException e) {
                opens = false;
            }
            if (c.ok() && opens && b.endsWith("top.qcow2")) {
                active = snap;
            } else if (snapshotAcked) {
                problems.add("snapshot acknowledged but its overlay is broken: check " + c.detail() + ", backing '" + b + "'");
            }
            // an overlay the guest never used (the kill came while it was made) may be left half-made, as with QEMU
        }
        for (Path img : images) {
            ImageJudge.Check c = ImageJudge.check(img);
            leaks += c.leaks();
            if (!c.ok()) {
                problems.add(img.getFileName() + ": " + c.detail());
            }
        }
        String backing = "";
        try {
            backing = ImageJudge.backingOf(active);
            if (!legalBacking(scenario, active, backing)) {
                problems.add("active image " + active.getFileName() + " names backing '" + backing + "': neither the old chain nor the new one");
            }
        } catch (IOException e) {
            problems.add("qemu-img does not open the chain: " + e.getMessage());
        }
        JournalFile journal;
        try {
            journal = JournalFile.read(journalFile);
        } catch (IOException e) {
            problems.add("no journal: " + e.getMessage());
            return new TrialOutcome(index, seed, scenario, workload, killAfter, phase, 0, leaks, backing,
                    active.getFileName().toString(), List.copyOf(problems));
        }
        BlockGraph g = new BlockGraph();
        try {
            BlockNode node = g.open(BlockOptions.parse("file=" + active + ",read-only=on", "file"));
            DataJudge.Verdict v = DataJudge.judge(node, 0, ChainFixture.WINDOW, baseline, journal);
            if (!v.ok()) {
                problems.add("as Strata reads it: " + v.describe());
            }
        } catch (RuntimeException e) {
            problems.add("Strata does not open the chain: " + e.getMessage());
        } finally {
            g.closeAll();
        }
        Path raw = dir.resolve("qemu-view.raw");
        try {
            Tools.must(dir, "qemu-img", "convert", "-O", "raw", active.toString(), raw.toString());
            BlockGraph rg = new BlockGraph();
            try {
                BlockNode node = rg.open(BlockOptions.parse("file=" + raw + ",format=raw,read-only=on", "file"));
                DataJudge.Verdict v = DataJudge.judge(node, 0, ChainFixture.WINDOW, baseline, journal);
                if (!v.ok()) {
                    problems.add("as qemu-img reads it: " + v.describe());
                }
            } finally {
                rg.closeAll();
            }
        } catch (IOException e) {
            problems.add("qemu-img cannot read the chain: " + e.getMessage());
        } finally {
            Files.deleteIfExists(raw);
        }
        return new TrialOutcome(index, seed, scenario, workload, killAfter, phase, journal.durableWrites(), leaks, backing,
                active.getFileName().toString(), List.copyOf(problems));
    }

    /** The old chain or the new one: which backing names the active image may carry after the crash. */
    private static boolean legalBacking(Scenario scenario, Path active, String backing) {
        boolean mid = backing.equals("mid.qcow2") || backing.endsWith("/mid.qcow2");
        boolean base = backing.equals("base.qcow2") || backing.endsWith("/base.qcow2");
        if (active.getFileName().toString().equals("snap.qcow2")) {
            return backing.endsWith("top.qcow2");
        }
        return switch (scenario) {
            case STREAM, STREAM_END -> mid || backing.isEmpty();
            case COMMIT, COMMIT_END -> mid || base;
            default -> mid;
        };
    }

    private static void start(QmpLink q, String command, String args, SplittableRandom rnd, int maxDelayMillis)
            throws IOException, InterruptedException {
        String r = q.call("{\"execute\": \"" + command + "\", \"arguments\": {" + args + "}}", QMP_TIMEOUT);
        if (!r.startsWith("{\"return\"")) {
            throw new IOException(command + " refused: " + r);
        }
        sleep(rnd.nextInt(maxDelayMillis));
    }

    /** Starts the job at full speed and returns as soon as it has copied everything (or ended). */
    private static void runToEnd(QmpLink q, String command, String args, SplittableRandom rnd) throws IOException, InterruptedException {
        start(q, command, args, rnd, 1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String jobs = q.call("{\"execute\": \"query-block-jobs\"}", QMP_TIMEOUT);
            String off = QmpLink.field(jobs, "offset");
            String len = QmpLink.field(jobs, "len");
            if (off == null || (len != null && off.equals(len) && !len.equals("0"))) {
                break;
            }
        }
        int jitter = rnd.nextInt(4);
        if (jitter > 0) {
            sleep(jitter - 1);
        }
    }

    private static String jobPhase(QmpLink q) {
        try {
            String jobs = q.call("{\"execute\": \"query-block-jobs\"}", Duration.ofSeconds(5));
            String status = QmpLink.field(jobs, "status");
            if (status == null) {
                return q.sawEvent("BLOCK_JOB_COMPLETED") ? "job completed" : "no job";
            }
            long off = Long.parseLong(QmpLink.field(jobs, "offset"));
            long len = Math.max(1, Long.parseLong(QmpLink.field(jobs, "len")));
            return QmpLink.field(jobs, "type") + " " + status + " " + (100 * off / len) + "%";
        } catch (IOException | InterruptedException | RuntimeException e) {
            return "unknown";
        }
    }

    private static void awaitFirstDurableWrite(Path journal, Process child) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + QMP_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline && child.isAlive()) {
            try {
                if (JournalFile.read(journal).durableWrites() > 0) {
                    return;
                }
            } catch (IOException e) {
                // not there yet
            }
            Thread.sleep(10);
        }
        throw new IOException("the guest never completed a flushed write");
    }

    private static void sleep(long millis) throws InterruptedException {
        if (millis > 0) {
            Thread.sleep(millis);
        }
    }

    static String tail(Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8).strip();
            return s.length() > 600 ? "..." + s.substring(s.length() - 600) : s;
        } catch (IOException e) {
            return "(no " + file.getFileName() + ")";
        }
    }
}
