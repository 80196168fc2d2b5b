package dev.strata.harness.torture;

import dev.strata.harness.guest.VerifyReport;
import dev.strata.harness.guest.Workload;
import dev.strata.harness.launcher.CommandLineParser;
import dev.strata.harness.launcher.MachineBuilder;
import dev.strata.harness.launcher.StrataMachine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The load soak: one machine with 4 virtio disks, a verifying guest workload of iodepth 32 on
 * each, one block job per disk (stream, mirror, backup, active commit) and two QMP clients
 * polling {@code query-block-jobs} every 10 ms, for a given time. Passes when no verification
 * failed, every QMP poll was answered, and after the machine closed the process holds as many
 * file descriptors and platform threads as before, with the heap after GC not growing.
 *
 * <p>Used from one thread; the pollers are virtual threads of their own.
 */
public final class LoadRun {

    /** Disks in the soak. */
    public static final int DISKS = 4;

    /** What the soak measured. */
    public record Result(Duration ran, long guestIos, long verifyFailures, long polls, long pollFailures,
                         int fdsBefore, int fdsAfter, int threadsBefore, int threadsAfter,
                         List<Long> heapSamplesMiB, List<String> jobsSeen, List<String> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }

        public String describe() {
            return String.format(java.util.Locale.ROOT,
                    "load: %d s, %d guest I/Os (%.0f IOPS), %d verify failures, %d QMP polls (%d failed), fds %d -> %d,"
                            + " platform threads %d -> %d, heap after GC (MiB) %s, jobs %s: %s",
                    ran.toSeconds(), guestIos, guestIos / Math.max(1.0, ran.toMillis() / 1000.0), verifyFailures, polls,
                    pollFailures, fdsBefore, fdsAfter, threadsBefore, threadsAfter, heapSamplesMiB, jobsSeen,
                    ok() ? "PASS" : "FAIL " + problems);
        }
    }

    private LoadRun() {
    }

    /** Runs the soak for {@code duration} in {@code dir} (images are made there with qemu-img), reporting to {@code out}. */
    public static Result run(Path dir, Duration duration, PrintStream out) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("-nodefaults"));
        for (int i = 0; i < DISKS; i++) {
            Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "base" + i + ".qcow2", "64M");
            Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x" + (i + 1) + "1 0 16M", "base" + i + ".qcow2");
            Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base" + i + ".qcow2", "-F", "qcow2", "top" + i + ".qcow2");
            args.addAll(List.of("-drive", "file=" + dir.resolve("top" + i + ".qcow2") + ",format=qcow2,if=virtio,node-name=top" + i
                    + ",backing.node-name=base" + i));
            args.addAll(List.of("-guest", "drive=virtio" + i + ",rw=randrw,bs=4k,iodepth=32,verify=on,fsync=32,size=32M,seed=" + (i + 1)));
        }
        Path sock = dir.resolve("q.sock");
        args.addAll(List.of("-qmp", "unix:" + sock + ",server=on,wait=off"));

        // the JDK creates its virtual-thread carriers, I/O pollers and socket helpers lazily, once per
        // process: a short warm-up machine makes them exist before the baseline is taken
        warmUp(dir);
        System.gc();
        int fdsBefore = openFds();
        int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        List<Long> heap = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        List<String> jobsSeen = new ArrayList<>();
        AtomicLong polls = new AtomicLong();
        AtomicLong pollFailures = new AtomicLong();
        long ios = 0;
        long verifyFailures = 0;
        long t0 = System.nanoTime();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true);
        StrataMachine m = new MachineBuilder(InputStream.nullInputStream(), ps, ps).build(new CommandLineParser().parse(args));
        try (QmpLink control = QmpLink.connect(sock, Duration.ofSeconds(30));
             QmpLink poller1 = QmpLink.connect(sock, Duration.ofSeconds(30));
             QmpLink poller2 = QmpLink.connect(sock, Duration.ofSeconds(30))) {
            startJobs(control, dir, problems);
            long end = System.nanoTime() + duration.toNanos();
            List<Thread> pollers = new ArrayList<>();
            for (QmpLink p : List.of(poller1, poller2)) {
                pollers.add(Thread.ofPlatform().daemon().name("load-poller").start(() -> poll(p, end, polls, pollFailures)));
            }
            long nextSample = System.nanoTime();
            while (System.nanoTime() < end) {
                if (System.nanoTime() >= nextSample) {
                    heap.add(heapAfterGcMiB());
                    String jobs = control.call("{\"execute\": \"query-block-jobs\"}", Duration.ofSeconds(30));
                    out.printf("[load %3ds] heap %d MiB, jobs %s%n", (System.nanoTime() - t0) / 1_000_000_000L,
                            heap.get(heap.size() - 1), summarizeJobs(jobs));
                    nextSample += Duration.ofSeconds(Math.max(1, Math.min(30, duration.toSeconds() / 6))).toNanos();
                }
                Thread.sleep(100);
            }
            for (Thread t : pollers) {
                t.join(Duration.ofSeconds(30));
            }
            jobsSeen.add(summarizeJobs(control.call("{\"execute\": \"query-block-jobs\"}", Duration.ofSeconds(30))));
            m.guest().stopWorkloads(Duration.ofSeconds(60));
            for (Workload w : m.guest().workloads()) {
                ios += w.result().reads() + w.result().writes();
                if (w.result().errors() > 0) {
                    problems.add(w.name() + ": " + w.result().errors() + " I/O errors");
                }
            }
            for (VerifyReport r : m.guest().verifyAll()) {
                verifyFailures += r.failureCount();
                if (!r.ok()) {
                    problems.add(r.describe());
                }
            }
            heap.add(heapAfterGcMiB());
        } finally {
            m.close();
        }
        Duration ran = Duration.ofNanos(System.nanoTime() - t0);
        if (pollFailures.get() > 0) {
            problems.add(pollFailures.get() + " QMP polls failed");
        }
        // closing lets go of virtual-thread carriers and JDK helpers lazily: give them a moment
        int fdsAfter = openFds();
        List<String> leaked = leakedThreads(before);
        for (int i = 0; i < 50 && (fdsAfter > fdsBefore || !leaked.isEmpty()); i++) {
            Thread.sleep(100);
            System.gc();
            fdsAfter = openFds();
            leaked = leakedThreads(before);
        }
        int threadsAfter = ManagementFactory.getThreadMXBean().getThreadCount();
        if (fdsAfter > fdsBefore) {
            problems.add("file descriptors leaked: " + fdsBefore + " before, " + fdsAfter + " after");
        }
        if (!leaked.isEmpty()) {
            problems.add("threads left running: " + leaked);
        }
        if (heap.size() >= 3) {
            long first = heap.get(1);
            long last = heap.get(heap.size() - 1);
            if (last > first * 2 + 64) {
                problems.add("heap after GC grew from " + first + " MiB to " + last + " MiB");
            }
        }
        return new Result(ran, ios, verifyFailures, polls.get(), pollFailures.get(), fdsBefore, fdsAfter, threadsBefore,
                threadsAfter, List.copyOf(heap), List.copyOf(jobsSeen), List.copyOf(problems));
    }

    /**
     * Platform threads alive now that were not before, except the JDK's own pool workers (the
     * virtual-thread scheduler adds carriers while threads block in file I/O and retires them
     * after its keep-alive; they are the JDK's, not Strata's).
     */
    private static List<String> leakedThreads(java.util.Set<Thread> before) {
        List<String> names = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (!before.contains(t) && t.isAlive() && !t.getName().startsWith("ForkJoinPool")
                    && !t.getName().startsWith("process reaper") && !t.getName().equals("Attach Listener")) {
                names.add(t.getName());
            }
        }
        return names;
    }

    private static void warmUp(Path dir) throws IOException, InterruptedException {
        Path w = dir.resolve("warmup");
        Files.createDirectories(w);
        Tools.must(w, "qemu-img", "create", "-q", "-f", "qcow2", "w.qcow2", "16M");
        Path sock = w.resolve("q.sock");
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true);
        StrataMachine m = new MachineBuilder(InputStream.nullInputStream(), quiet, quiet).build(new CommandLineParser().parse(List.of(
                "-nodefaults", "-drive", "file=" + w.resolve("w.qcow2") + ",format=qcow2,if=virtio",
                "-guest", "drive=virtio0,rw=randrw,bs=4k,iodepth=32,verify=on,fsync=32,runtime=1",
                "-qmp", "unix:" + sock + ",server=on,wait=off")));
        try (QmpLink q = QmpLink.connect(sock, Duration.ofSeconds(30))) {
            q.call("{\"execute\": \"query-block-jobs\"}", Duration.ofSeconds(30));
            Thread.sleep(1500);
        } finally {
            m.close();
        }
    }

    private static void startJobs(QmpLink q, Path dir, List<String> problems) throws IOException, InterruptedException {
        List<String> cmds = List.of(
                "{\"execute\": \"block-stream\", \"arguments\": {\"device\": \"virtio0\", \"job-id\": \"stream0\", \"speed\": 2097152}}",
                "{\"execute\": \"drive-mirror\", \"arguments\": {\"device\": \"virtio1\", \"job-id\": \"mirror1\", \"target\": \""
                        + dir.resolve("mirror1.qcow2") + "\", \"format\": \"qcow2\", \"sync\": \"full\"}}",
                "{\"execute\": \"drive-backup\", \"arguments\": {\"device\": \"virtio2\", \"job-id\": \"backup2\", \"target\": \""
                        + dir.resolve("backup2.qcow2") + "\", \"format\": \"qcow2\", \"sync\": \"full\", \"speed\": 2097152}}",
                "{\"execute\": \"block-commit\", \"arguments\": {\"device\": \"virtio3\", \"job-id\": \"commit3\"}}");
        for (String c : cmds) {
            String r = q.call(c, Duration.ofSeconds(30));
            if (!r.startsWith("{\"return\"")) {
                problems.add("job refused: " + c + " -> " + r);
            }
        }
    }

    private static void poll(QmpLink q, long end, AtomicLong polls, AtomicLong failures) {
        while (System.nanoTime() < end) {
            try {
                String r = q.call("{\"execute\": \"query-block-jobs\"}", Duration.ofSeconds(10));
                polls.incrementAndGet();
                if (!r.startsWith("{\"return\"")) {
                    failures.incrementAndGet();
                }
                Thread.sleep(10);
            } catch (IOException e) {
                failures.incrementAndGet();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static String summarizeJobs(String reply) {
        List<String> parts = new ArrayList<>();
        for (String item : reply.split("\\}, \\{")) {
            String id = QmpLink.field(item, "device");
            String status = QmpLink.field(item, "status");
            if (id != null && status != null) {
                parts.add(id + "=" + status);
            }
        }
        return parts.isEmpty() ? "(none)" : String.join(",", parts);
    }

    private static long heapAfterGcMiB() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20;
    }

    /** Open file descriptors of this process (Linux /proc), or -1 where there is no /proc. */
    public static int openFds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        } catch (IOException e) {
            return -1;
        }
    }
}
