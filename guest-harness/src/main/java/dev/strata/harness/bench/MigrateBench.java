package dev.strata.harness.bench;

import dev.strata.harness.bench.jobs.JobsBench;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Storage migration over NBD (issue 17's performance section): the active disk of the jobs
 * benchmarks' 3-layer qcow2 chain ({@link BenchChains#build}, 64 KiB clusters, layers
 * 50 %/20 %/10 % allocated) is mirrored ({@code blockdev-mirror sync=full} onto an {@code nbd} node,
 * libvirt's migration copy) into a blank qcow2 served by a destination NBD server, by QEMU 7.2 and
 * by Strata in turn, to READY; then {@code block-job-cancel} (the source keeps its disk) and
 * {@code qemu-img compare} of source and destination, which must say identical (else the program
 * fails). Links: a unix socket, TCP on loopback, and the shaped link (1 Gbit/s, 5 ms each way
 * between two network namespaces, {@link ShapedLink}; needs root). The destination server is the
 * same for both sources: {@code qemu-nbd} and/or Strata's ({@code strata nbd}). Rounds interleave
 * the two sources (the order alternates) so machine noise falls on both; medians are printed with
 * Strata/QEMU (above 1 = Strata faster) and, on the shaped link, the share of the link's rate.
 *
 * <p>Single benchmark thread; both sources ({@link QmpMirror}) and the servers are child processes,
 * started inside the two namespaces on the shaped link.
 */
public final class MigrateBench {

    private static final String USAGE = """
            usage: strata bench migrate [--size 1G] [--rounds 3] [--links unix,tcp,shaped] [--servers qemu-nbd,strata] [--no-nbdcopy] [--guest] [--dir DIR]
              Mirrors the 1 GiB 3-layer chain's active disk onto an NBD export of a blank qcow2, QEMU 7.2 and Strata as
              source in turn, to READY (then block-job-cancel), and prints time to READY, MB/s, Strata/QEMU and, on the
              shaped link, % of the link's rate. Exits non-zero when a copy is not identical (qemu-img compare).
              --size      virtual size of the chain (default 1G; 684 MB allocated at 1G)
              --rounds    rounds per link and server, QEMU and Strata interleaved (default 3)
              --links     unix (unix socket), tcp (TCP on 127.0.0.1), shaped (1 Gbit/s, 5 ms each way
                          between two network namespaces; needs root, skipped with a message otherwise)
              --servers   destination NBD server: qemu-nbd, strata (Strata's `strata nbd`), or both
              --no-nbdcopy  leave out the reference copy by nbdcopy (64 requests in flight, the link's practical
                          ceiling): `nbdcopy [ qemu-nbd -r L2.qcow2 ] DESTINATION`, timed to its end
              --guest     then, per link, a Strata source whose guest writes 4 KiB at 5,000 IOPS during the copy:
                          its p99 idle and during the copy to READY (onto the first server; Strata only)
              --dir       work directory (default: a new temporary directory, removed at the end)""";

    /** What one source did on one link: nanoseconds to READY. */
    private record Run(String link, String server, String source, long readyNs) {
    }

    private MigrateBench() {
    }

    public static void main(String[] args) throws Exception {
        long size = 1L << 30;
        int rounds = 3;
        List<String> links = List.of("unix", "tcp", "shaped");
        List<String> servers = List.of("qemu-nbd");
        Path dir = null;
        boolean withNbdcopy = true;
        boolean guest = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(USAGE);
                return;
            }
            if (a.equals("--guest")) {
                guest = true;
                continue;
            }
            if (a.equals("--no-nbdcopy")) {
                withNbdcopy = false;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + a + " needs a value\n" + USAGE);
            }
            String v = args[++i];
            switch (a) {
                case "--size" -> size = parseSize(v);
                case "--rounds" -> rounds = parseRounds(v);
                case "--links" -> links = listOf(v, List.of("unix", "tcp", "shaped"), "link");
                case "--servers" -> servers = listOf(v, List.of("qemu-nbd", "strata"), "server");
                case "--dir" -> dir = Path.of(v).toAbsolutePath();
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
            }
        }
        if (rounds < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1");
        }
        boolean temporary = dir == null;
        dir = temporary ? Files.createTempDirectory("strata-migrate-bench") : Files.createDirectories(dir);
        try {
            run(dir, size, rounds, links, servers, withNbdcopy, guest);
        } finally {
            if (temporary) {
                deleteTree(dir);
            }
        }
    }

    private static void run(Path dir, long size, int rounds, List<String> links, List<String> servers, boolean withNbdcopy,
                            boolean guest) throws Exception {
        System.out.println("load average at start: " + loadAverage());
        Path chain = Files.createDirectories(dir.resolve("chain"));
        BenchChains.build(chain, size, new double[] {0.5, 0.2, 0.1}, 64 << 10, 42);
        Path top = chain.resolve("L2.qcow2");
        long data = JobsBench.allocatedBytes(top);
        System.out.printf("chain: %d MiB virtual, 3 qcow2 layers, %d MB allocated (the data each mirror copies)%n",
                size >> 20, data / 1_000_000);
        // the disk of each source's untimed warm-up mirror (QmpMirror): same size, 8 MiB of data
        Path warm = dir.resolve("warm.qcow2");
        Tools.run(dir, "qemu-img", "create", "-q", "-f", "qcow2", warm.toString(), Long.toString(size));
        Tools.run(dir, "qemu-io", "-f", "qcow2", warm.toString(), "-c", "write -P 0x11 0 4M", "-c", "write -P 0x22 " + (size / 2) + " 4M");
        List<Run> runs = new ArrayList<>();
        boolean allIdentical = true;
        for (String linkName : links) {
            MigrationLink link;
            try {
                link = MigrationLink.open(linkName, dir);
            } catch (MigrationLink.Unavailable e) {
                System.out.println(linkName + ": skipped: " + e.getMessage());
                continue;
            }
            try (link) {
                for (String server : servers) {
                    for (int r = 0; r < rounds; r++) {
                        List<String> order = new ArrayList<>(r % 2 == 0 ? List.of("qemu", "strata") : List.of("strata", "qemu"));
                        if (withNbdcopy) {
                            order.add("nbdcopy");
                        }
                        for (String source : order) {
                            long ns;
                            try {
                                ns = once(link, server, source, top, warm, size, dir);
                            } catch (NotIdentical e) {
                                System.out.println("  " + e.getMessage());
                                allIdentical = false;
                                continue;
                            }
                            runs.add(new Run(linkName, server, source, ns));
                            System.out.printf("%-6s -> %-8s round %d %-7s %s %7.3f s  %7.1f MB/s  (load %s)%n", linkName,
                                    server, r + 1, source, source.equals("nbdcopy") ? "done after " : "READY after", ns / 1e9, data / (ns / 1e9) / 1e6, loadAverage());
                        }
                    }
                }
            }
        }
        summary(runs, links, servers, data);
        if (guest) {
            for (String linkName : links) {
                try (MigrationLink link = MigrationLink.open(linkName, dir)) {
                    System.out.println(linkName + " -> " + servers.get(0) + ": "
                            + GuestDuringMigration.run(link, servers.get(0), chain, size, dir) + "  (load " + loadAverage() + ")");
                } catch (MigrationLink.Unavailable e) {
                    System.out.println(linkName + ": guest run skipped: " + e.getMessage());
                }
            }
        }
        System.out.println("load average at end: " + loadAverage());
        if (!allIdentical) {
            throw new IllegalStateException("a migrated copy differs from its source (see above)");
        }
    }

    private static void summary(List<Run> runs, List<String> links, List<String> servers, long data) {
        System.out.println("medians (MB = 10^6 bytes of allocated data copied; ratio = QEMU time / Strata time):");
        for (String link : links) {
            for (String server : servers) {
                long q = median(runs, link, server, "qemu");
                long s = median(runs, link, server, "strata");
                if (q <= 0 || s <= 0) {
                    continue;
                }
                double qRate = data / (q / 1e9) / 1e6;
                double sRate = data / (s / 1e9) / 1e6;
                double ratio = (double) q / s;
                String share = "";
                if (link.equals("shaped")) {
                    double linkRate = ShapedLink.RATE_BITS_PER_SECOND / 8.0 / 1e6;
                    share = String.format(Locale.ROOT, "  link: strata %3.0f%% qemu %3.0f%% of %.0f MB/s (target >= 90%%: %s)",
                            100 * sRate / linkRate, 100 * qRate / linkRate, linkRate, sRate >= 0.9 * linkRate ? "met" : "NOT met");
                }
                double want = link.equals("shaped") ? 2.0 : 1.0;
                long n = median(runs, link, server, "nbdcopy");
                if (n > 0) {
                    share += String.format(Locale.ROOT, "  (nbdcopy %.3f s %.1f MB/s)", n / 1e9, data / (n / 1e9) / 1e6);
                }
                System.out.printf(Locale.ROOT, "%-6s -> %-8s qemu %7.3f s %7.1f MB/s  strata %7.3f s %7.1f MB/s  strata/qemu %.2f (target >= %.1f: %s)%s%n",
                        link, server, q / 1e9, qRate, s / 1e9, sRate, ratio, want, ratio >= want ? "met" : "NOT met", share);
            }
        }
    }

    /** The reference copy: nbdcopy from a read-only qemu-nbd of the chain (started by nbdcopy) to the destination. */
    private static long nbdcopy(MigrationLink link, MigrationLink.Served s, Path top, Path dir) throws IOException, InterruptedException {
        String dst = s.unixSocket() != null ? "nbd+unix:///?socket=" + s.unixSocket() : "nbd://" + s.host() + ":" + s.port() + "/";
        List<String> cmd = link.sourceCommand(List.of("nbdcopy", "--", "[", "qemu-nbd", "-r", "-f", "qcow2", top.toString(), "]", dst));
        long start = System.nanoTime();
        Tools.run(dir, cmd.toArray(String[]::new));
        return System.nanoTime() - start;
    }

    private static long median(List<Run> runs, String link, String server, String source) {
        long[] v = runs.stream().filter(r -> r.link.equals(link) && r.server.equals(server) && r.source.equals(source))
                .mapToLong(Run::readyNs).sorted().toArray();
        return v.length == 0 ? -1 : v[v.length / 2];
    }

    /** The copy did not verify. */
    static final class NotIdentical extends Exception {
        NotIdentical(String message) {
            super(message);
        }
    }

    /**
     * One migration: a blank destination image served on the link, {@code source} mirrors {@code top}
     * into it to READY and cancels; then {@code qemu-img compare}. Returns nanoseconds to READY.
     */
    private static long once(MigrationLink link, String server, String source, Path top, Path warm, long size, Path dir) throws Exception {
        Path dst = dir.resolve("dst.qcow2");
        Files.deleteIfExists(dst);
        Tools.run(dir, "qemu-img", "create", "-q", "-f", "qcow2", dst.toString(), Long.toString(size));
        long ns;
        try (MigrationLink.Served s = link.serve(server, dst)) {
            ns = source.equals("nbdcopy") ? nbdcopy(link, s, top, dir) : QmpMirror.toReady(source, link, s, top, warm, dir);
        }
        String cmp = Tools.output(dir, "qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", top.toString(), dst.toString());
        if (!cmp.contains("Images are identical")) {
            throw new NotIdentical(source + " over " + link.name() + " onto " + server + ": qemu-img compare: " + cmp.strip());
        }
        return ns;
    }

    private static List<String> listOf(String v, List<String> allowed, String what) {
        List<String> l = Arrays.stream(v.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
        for (String x : l) {
            if (!allowed.contains(x)) {
                throw new IllegalArgumentException("unknown " + what + " '" + x + "' (one of " + String.join(", ", allowed) + ")");
            }
        }
        if (l.isEmpty()) {
            throw new IllegalArgumentException("no " + what + " given");
        }
        return l;
    }

    private static int parseRounds(String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rounds: not a number: '" + v + "'");
        }
    }

    static long parseSize(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long mul = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        long n;
        try {
            n = Long.parseLong(mul == 1 ? t : t.substring(0, t.length() - 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--size: not a size: '" + s + "' (e.g. 1G, 256M)");
        }
        if (n <= 0 || n * mul % (64 << 10) != 0) {
            throw new IllegalArgumentException("--size must be a positive multiple of 64K: " + s);
        }
        return n * mul;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Small process helpers. */
    static final class Tools {
        private Tools() {
        }

        static void run(Path dir, String... cmd) throws IOException, InterruptedException {
            output(dir, cmd);
        }

        /** Runs {@code cmd}, returns its output; a non-zero exit other than qemu-img compare's 1 fails. */
        static String output(Path dir, String... cmd) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish");
            }
            boolean compare = cmd.length > 1 && cmd[1].equals("compare");
            if (p.exitValue() != 0 && !(compare && p.exitValue() == 1)) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
            }
            return out;
        }
    }

}
