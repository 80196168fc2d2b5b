package dev.strata.harness.bench;

import dev.strata.harness.torture.LoadRun;
import dev.strata.harness.torture.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The load soak ({@link LoadRun}): 4 disks x iodepth 32 verifying guest workloads, a block job
 * per disk, two QMP clients polling query-block-jobs every 10 ms.
 *
 * <pre>
 * strata bench load [--minutes 10 | --seconds N] [--dir FOLDER]
 * </pre>
 *
 * Exits 1 when a verification failed, a poll failed, or file descriptors, threads or heap leaked.
 */
public final class LoadBench {

    /** What {@code strata bench ... --help} prints (see {@link dev.strata.harness.launcher.BenchCatalog}). */
    public static final String USAGE = "strata bench load [--minutes 10 | --seconds N] [--dir FOLDER]\n"
            + "Load soak: 4 disks x iodepth 32 verifying guests, a block job per disk, two QMP clients polling;\n"
            + "exits 1 on a failed verification or poll, or leaked descriptors, threads or heap.";

    private LoadBench() {
    }

    public static void main(String[] args) throws Exception {
        Duration d = Duration.ofMinutes(10);
        Path dir = null;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--minutes" -> d = Duration.ofMinutes(Long.parseLong(args[++i]));
                    case "--seconds" -> d = Duration.ofSeconds(Long.parseLong(args[++i]));
                    case "--dir" -> dir = Path.of(args[++i]);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException("the duration must be positive");
            }
        } catch (RuntimeException e) {
            System.err.println("strata bench load: " + (e instanceof ArrayIndexOutOfBoundsException ? "missing value" : e.getMessage()));
            System.err.println("usage: strata bench load [--minutes N | --seconds N] [--dir FOLDER]");
            System.exit(1);
            return;
        }
        if (!Tools.qemuAvailable()) {
            System.err.println("strata bench load: needs qemu-img and qemu-io (Debian package qemu-utils) to make its images");
            System.exit(1);
            return;
        }
        if (dir == null) {
            dir = Files.createTempDirectory("strata-load-");
        }
        System.out.println("load: " + LoadRun.DISKS + " disks x iodepth 32, one job each, 2 QMP pollers at 10 ms, for "
                + d.toSeconds() + " s in " + dir);
        LoadRun.Result r = LoadRun.run(dir, d, System.out);
        System.out.println(r.describe());
        System.exit(r.ok() ? 0 : 1);
    }
}
