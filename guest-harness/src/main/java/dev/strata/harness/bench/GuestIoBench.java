package dev.strata.harness.bench;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import dev.strata.device.ring.RingThreads;
import dev.strata.device.ring.RingWaitPolicy;
import dev.strata.harness.guest.Guest;
import dev.strata.harness.guest.Workload;
import dev.strata.harness.guest.WorkloadResult;
import dev.strata.harness.guest.WorkloadSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Guest-visible 4 KiB I/O through the whole path (guest driver, request ring, virtio-blk device,
 * block layer, qcow2, host file) at several queue depths, next to {@code qemu-img bench} on the
 * same image in the same run. {@code qemu-img bench} has no random mode: sequential guest figures
 * are compared with its default walk (step = request size), random ones with a scattered walk
 * ({@code -S 1052672}: every request 1 MiB + 4 KiB after the previous one, wrapping), which touches
 * the host page cache the way random requests do.
 *
 * <pre>
 * strata bench guest-io [--image FILE] [--format qcow2|raw] [--size 256M] [--seconds 5]
 *                       [--depths 1,8,32] [--wait blocking|spin] [--ring-threads virtual|platform]
 * </pre>
 *
 * Without {@code --image} it creates a qcow2 image with {@code qemu-img create} in a temporary
 * folder and fills it with {@code qemu-io}, so every cluster is allocated and in the page cache.
 */
public final class GuestIoBench {

    /** What {@code strata bench ... --help} prints (see {@link dev.strata.harness.launcher.BenchCatalog}). */
    public static final String USAGE = "strata bench guest-io [--image FILE] [--format qcow2|raw] [--size 256M] [--seconds 5]\n"
            + "                      [--depths 1,8,32] [--wait blocking|spin] [--ring-threads virtual|platform]\n"
            + "Guest 4 KiB I/O through the whole path (guest driver, ring, virtio-blk, block layer, host file) at\n"
            + "several queue depths, next to qemu-img bench on the same image in the same run.";

    private GuestIoBench() {
    }

    /** qemu-img bench step for the random rows: 1 MiB + 4 KiB, so consecutive requests land far apart. */
    static final long SCATTERED_STEP = (1 << 20) + 4096;

    record Row(String pattern, int depth, WorkloadResult guest, double qemuIops) {
    }

    public static void main(String[] args) throws Exception {
        Path image = null;
        String format = "qcow2";
        long size = 256L << 20;
        int seconds = 5;
        List<Integer> depths = List.of(1, 8, 32);
        RingWaitPolicy wait = RingWaitPolicy.BLOCKING;
        RingThreads threads = RingThreads.VIRTUAL;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--image" -> image = Path.of(need(args[i], v));
                case "--format" -> format = need(args[i], v);
                case "--size" -> size = Long.parseLong(need(args[i], v).replace("M", "")) << 20;
                case "--seconds" -> seconds = Integer.parseInt(need(args[i], v));
                case "--depths" -> depths = parseDepths(need(args[i], v));
                case "--wait" -> wait = "spin".equals(need(args[i], v)) ? RingWaitPolicy.SPIN_THEN_BLOCK : RingWaitPolicy.BLOCKING;
                case "--ring-threads" -> threads = RingThreads.valueOf(need(args[i], v).toUpperCase(Locale.ROOT));
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "' (see the class comment)");
            }
            i++;
        }
        Path tmp = null;
        if (format.equals("null-co")) {
            // the device path alone: no file, no format (qemu-img has nothing to compare against)
            image = Path.of("null-co");
        } else if (image == null) {
            tmp = Files.createTempDirectory("strata-bench");
            image = tmp.resolve("bench." + format);
            exec(List.of("qemu-img", "create", "-q", "-f", format, image.toString(), Long.toString(size)));
            exec(List.of("qemu-io", "-f", format, "-c", "write -P 0x5a 0 " + size, image.toString()));
        }
        System.out.println("# guest I/O bench: " + image + " (" + format + "), " + seconds + " s per point, ring wait "
                + wait.name().toLowerCase(Locale.ROOT) + ", " + threads.name().toLowerCase(Locale.ROOT) + " ring threads, " + Runtime.getRuntime().availableProcessors() + " CPUs");
        List<Row> rows = new ArrayList<>();
        try {
            runGuest(image, format, "randread", 1, 2, wait, threads); // warm-up: JIT, page cache
            for (String pattern : List.of("read", "write", "randread", "randwrite")) {
                for (int depth : depths) {
                    WorkloadResult r = runGuest(image, format, pattern, depth, seconds, wait, threads);
                    double q = format.equals("null-co") ? -1
                            : qemuImgBench(image, format, pattern.endsWith("write"), depth, seconds,
                                    pattern.startsWith("rand") ? SCATTERED_STEP : 0);
                    Row row = new Row(pattern, depth, r, q);
                    rows.add(row);
                    System.out.println(line(row));
                }
            }
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(image);
                Files.deleteIfExists(tmp);
            }
        }
        System.out.println();
        System.out.println("| pattern | iodepth | guest IOPS | guest p50 | guest p99 | qemu-img bench IOPS (seq; rand rows: -S "
                + SCATTERED_STEP + ") | guest / qemu-img |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %s | %d | %.0f | %.1f us | %.1f us | %s | %s |%n", r.pattern(), r.depth(),
                    r.guest().iops(), r.guest().p50Ns() / 1e3, r.guest().p99Ns() / 1e3,
                    r.qemuIops() < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f", r.qemuIops()),
                    r.qemuIops() <= 0 ? "" : String.format(Locale.ROOT, "%.2f", r.guest().iops() / r.qemuIops()));
        }
    }

    private static String line(Row r) {
        return String.format(Locale.ROOT, "%-9s depth %2d: guest %8.0f IOPS p50 %7.1f us p99 %7.1f us p99.9 %7.1f us%s",
                r.pattern(), r.depth(), r.guest().iops(), r.guest().p50Ns() / 1e3, r.guest().p99Ns() / 1e3,
                r.guest().p999Ns() / 1e3,
                r.qemuIops() < 0 ? "" : String.format(Locale.ROOT, " | qemu-img bench %8.0f IOPS | ratio %.2f",
                        r.qemuIops(), r.guest().iops() / r.qemuIops()));
    }

    /** One workload on a freshly assembled in-process machine (closed afterwards, so qemu-img can lock the image). */
    static WorkloadResult runGuest(Path image, String format, String pattern, int depth, int seconds,
                                   RingWaitPolicy wait, RingThreads threads) throws InterruptedException {
        BlockGraph graph = new BlockGraph();
        VmRunState vm = new VmRunState(RunState.RUNNING);
        GuestMemory memory = GuestMemory.allocate(64L << 20);
        Peripherals devices = new Peripherals(vm, memory);
        Guest guest = new Guest(vm, memory);
        try {
            String opts = format.equals("null-co") ? "driver=null-co,size=256M"
                    : "file=" + image + ",format=" + format;
            BlockBackend b = graph.createBackend("virtio0", graph.open(BlockOptions.parse(opts, "file")),
                    BlockBackend.CacheMode.WRITEBACK);
            guest.attach(devices.createVirtioBlk(DeviceOptions.of(b).withRingWait(wait).withRingThreads(threads)));
            Workload w = guest.start(WorkloadSpec.parse("rw=" + pattern + ",bs=4k,iodepth=" + depth + ",runtime=" + seconds));
            if (!w.await(Duration.ofSeconds(seconds + 60L))) {
                throw new IllegalStateException("workload did not finish");
            }
            return w.result();
        } finally {
            guest.close();
            vm.shutdown();
            devices.close();
            graph.closeAll();
        }
    }

    /** {@code qemu-img bench} with the same size, depth and cache mode, sized to run about {@code seconds}. */
    static double qemuImgBench(Path image, String format, boolean write, int depth, int seconds, long step)
            throws IOException, InterruptedException {
        long count = 20_000;
        double secs = benchOnce(image, format, write, depth, count, step);
        count = Math.max(count, (long) (count * seconds / Math.max(0.05, secs)));
        secs = benchOnce(image, format, write, depth, count, step);
        return count / secs;
    }

    private static double benchOnce(Path image, String format, boolean write, int depth, long count, long step)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "bench", "-f", format, "-c", Long.toString(count),
                "-d", Integer.toString(depth), "-s", "4k", "-t", "writeback", "-i", "threads"));
        if (step > 0) {
            cmd.addAll(List.of("-S", Long.toString(step)));
        }
        if (write) {
            cmd.add("-w");
        }
        cmd.add(image.toString());
        String out = exec(cmd);
        Matcher m = Pattern.compile("Run completed in ([0-9.]+) seconds").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("unexpected qemu-img bench output: " + out);
        }
        return Double.parseDouble(m.group(1));
    }

    private static String exec(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.strip());
        }
        return out;
    }

    private static String need(String opt, String v) {
        if (v == null) {
            throw new IllegalArgumentException("option '" + opt + "' needs a value");
        }
        return v;
    }

    private static List<Integer> parseDepths(String v) {
        List<Integer> l = new ArrayList<>();
        for (String s : v.split(",")) {
            l.add(Integer.parseInt(s.trim()));
        }
        return l;
    }
}
