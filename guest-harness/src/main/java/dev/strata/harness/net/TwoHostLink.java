package dev.strata.harness.net;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Two "hosts" on this machine: network namespaces {@code A} ({@link #source()}, 10.77.N.1) and
 * {@code B} ({@link #destination()}, 10.77.N.2) joined by a veth pair, shaped by a
 * {@link LinkShape}. The rate is limited with {@code tbf} on both veth ends; the delay is kernel
 * {@code netem} on both ends where the kernel has it, otherwise a {@link DelayProxy} in front of
 * each server that {@link #reach} is asked about. The addresses exist only inside the two
 * namespaces: nothing leaves the machine and the host's own namespace has no route to them.
 *
 * <p>Names are unique per JVM and link ({@code strata-net-PID-N-a/b}), so parallel runs never
 * collide; {@link #open} first removes namespaces left by JVMs that no longer run. Everything is
 * removed by {@link #close}, or by a shutdown hook if the JVM ends first. Needs root (or
 * CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2; {@link #unavailableReason()} says why not.
 *
 * <p>Thread safety: {@link #close}, {@link #setLinkUp} and {@link #reach} may be called from any
 * thread; {@code lock} guards {@code closed} and the proxy list.
 */
public final class TwoHostLink implements AutoCloseable {

    /** Prefix of every namespace this class creates. */
    public static final String PREFIX = "strata-net-";

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final ReentrantLock PROBE_LOCK = new ReentrantLock();
    private static Optional<String> probed; // guarded by PROBE_LOCK

    private final LinkShape shape;
    private final NetHost a;
    private final NetHost b;
    private final boolean netem;
    private final NetHost proxies;
    private final Thread hook;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean closed;

    private TwoHostLink(LinkShape shape, NetHost a, NetHost b, boolean netem) {
        this.shape = shape;
        this.a = a;
        this.b = b;
        this.netem = netem;
        this.proxies = new NetHost(b.namespace(), b.interfaceName(), b.address());
        this.hook = new Thread(this::removeAll, "two-host-link-cleanup");
    }

    /**
     * Why two-host links cannot be made here (not root, no {@code ip}, namespaces refused), or
     * empty when they can. Probed once per JVM by creating and removing a namespace.
     */
    public static Optional<String> unavailableReason() {
        PROBE_LOCK.lock();
        try {
            if (probed == null) {
                probed = probe();
            }
            return probed;
        } finally {
            PROBE_LOCK.unlock();
        }
    }

    private static Optional<String> probe() {
        NetCommands.Result v = NetCommands.run("ip", "-V");
        if (!v.ok()) {
            return Optional.of("no `ip` command (iproute2): " + v.output());
        }
        String name = PREFIX + ProcessHandle.current().pid() + "-probe";
        NetCommands.Result add = NetCommands.run("ip", "netns", "add", name);
        if (!add.ok()) {
            return Optional.of("cannot create a network namespace (needs root): " + add.output());
        }
        NetCommands.run("ip", "netns", "del", name);
        return Optional.empty();
    }

    /**
     * Creates the two namespaces and the link, shaped as {@code shape}.
     *
     * @throws IOException when a step fails (everything made so far is removed again)
     */
    public static TwoHostLink open(LinkShape shape) throws IOException {
        Optional<String> why = unavailableReason();
        if (why.isPresent()) {
            throw new IOException(why.get());
        }
        cleanStale();
        long pid = ProcessHandle.current().pid();
        int n = COUNTER.incrementAndGet();
        String base = PREFIX + pid + "-" + n;
        String tag = "sn" + Long.toString(pid, 36) + "x" + Integer.toString(n, 36);
        int subnet = n % 250 + 1;
        NetHost a = new NetHost(base + "-a", tag + "a", "10.77." + subnet + ".1");
        NetHost b = new NetHost(base + "-b", tag + "b", "10.77." + subnet + ".2");
        List<String> made = new ArrayList<>();
        try {
            for (NetHost h : List.of(a, b)) {
                NetCommands.must("ip", "netns", "add", h.namespace());
                made.add(h.namespace());
            }
            NetCommands.must("ip", "link", "add", a.interfaceName(), "netns", a.namespace(), "type", "veth",
                    "peer", "name", b.interfaceName(), "netns", b.namespace());
            for (NetHost h : List.of(a, b)) {
                NetCommands.must("ip", "-n", h.namespace(), "addr", "add", h.address() + "/24", "dev", h.interfaceName());
                NetCommands.must("ip", "-n", h.namespace(), "link", "set", "lo", "up");
                NetCommands.must("ip", "-n", h.namespace(), "link", "set", h.interfaceName(), "up");
            }
            boolean netem = shapeLink(shape, a, b);
            TwoHostLink link = new TwoHostLink(shape, a, b, netem);
            Runtime.getRuntime().addShutdownHook(link.hook);
            return link;
        } catch (IOException e) {
            for (String ns : made) {
                NetCommands.run("ip", "netns", "del", ns);
            }
            throw e;
        }
    }

    /** Applies the shape; true when the delay is netem's (no proxy needed). */
    private static boolean shapeLink(LinkShape shape, NetHost a, NetHost b) throws IOException {
        long delayUs = shape.delayEachWay().toNanos() / 1000;
        if (delayUs > 0) {
            List<String> netem = new ArrayList<>(List.of("tc", "-n", a.namespace(), "qdisc", "add", "dev", a.interfaceName(),
                    "root", "netem", "delay", delayUs + "us"));
            if (shape.bitsPerSecond() > 0) {
                netem.addAll(List.of("rate", shape.bitsPerSecond() + "bit"));
            }
            if (NetCommands.run(netem).ok()) {
                netem.set(2, b.namespace());
                netem.set(6, b.interfaceName());
                NetCommands.must(netem.toArray(String[]::new));
                return true;
            }
        }
        if (shape.bitsPerSecond() > 0) {
            // burst: at least one GSO packet (64 KiB) and 1 ms at the rate, so the rate is reached
            long burst = Math.max(shape.bitsPerSecond() / 8 / 1000, 128 << 10);
            for (NetHost h : List.of(a, b)) {
                NetCommands.must("tc", "-n", h.namespace(), "qdisc", "add", "dev", h.interfaceName(), "root", "tbf",
                        "rate", shape.bitsPerSecond() + "bit", "burst", String.valueOf(burst), "latency", "50ms");
            }
        }
        return false;
    }

    /**
     * Removes namespaces named {@link #PREFIX}{@code PID-…} whose JVM no longer runs (killed
     * runs), killing any process still inside them.
     *
     * @return how many namespaces were removed
     */
    public static int cleanStale() {
        NetCommands.Result list = NetCommands.run("ip", "netns", "list");
        if (!list.ok()) {
            return 0;
        }
        int removed = 0;
        for (String line : list.output().split("\n")) {
            String name = line.strip().split("\\s+")[0];
            if (!name.startsWith(PREFIX)) {
                continue;
            }
            String[] parts = name.substring(PREFIX.length()).split("-");
            long owner;
            try {
                owner = Long.parseLong(parts[0]);
            } catch (NumberFormatException e) {
                continue;
            }
            if (ProcessHandle.of(owner).isPresent()) {
                continue;
            }
            killInside(name);
            if (NetCommands.run("ip", "netns", "del", name).ok()) {
                removed++;
            }
        }
        return removed;
    }

    private static void killInside(String namespace) {
        NetCommands.Result pids = NetCommands.run("ip", "netns", "pids", namespace);
        if (!pids.ok()) {
            return;
        }
        for (String p : pids.output().split("\\s+")) {
            if (!p.isBlank()) {
                ProcessHandle.of(Long.parseLong(p.strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** Host A (10.77.N.1): where tests run the migration's source. */
    public NetHost source() {
        return a;
    }

    /** Host B (10.77.N.2): where tests run the migration's destination. */
    public NetHost destination() {
        return b;
    }

    /** The shape this link was made with. */
    public LinkShape shape() {
        return shape;
    }

    /** True when the kernel's netem adds the delay; false when {@link DelayProxy}s do. */
    public boolean delayByNetem() {
        return netem;
    }

    /**
     * The address the other host connects to for a TCP server listening on {@code port} at
     * {@code server}'s address. With a delay and no netem this starts a {@link DelayProxy} in
     * {@code server}'s namespace (one per call) and returns its address; otherwise it is the
     * server's own address.
     */
    public HostPort reach(NetHost server, int port) throws IOException {
        if (netem || shape.delayEachWay().isZero()) {
            return new HostPort(server.address(), port);
        }
        lock.lock();
        try {
            if (closed) {
                throw new IOException("two-host link closed");
            }
            NetHost host = server == b ? proxies : new NetHost(server.namespace(), server.interfaceName(), server.address());
            List<String> cmd = host.command(host.javaCommand(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
                    DelayProxy.class.getName(), List.of(server.address(), server.address(), String.valueOf(port),
                            String.valueOf(shape.delayEachWay().toNanos() / 1000))));
            Process p = host.track(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start());
            if (host != proxies) {
                proxies.track(p);
            }
            return new HostPort(server.address(), readPort(p));
        } finally {
            lock.unlock();
        }
    }

    private static int readPort(Process p) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return r.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        try {
            String l = line.get(60, TimeUnit.SECONDS);
            if (l == null) {
                throw new IOException("delay proxy exited before listening (status " + p.waitFor() + ")");
            }
            return Integer.parseInt(l.strip());
        } catch (TimeoutException | ExecutionException | NumberFormatException e) {
            p.destroyForcibly();
            throw new IOException("delay proxy did not start: " + e, e);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Takes the link down ({@code ip link set … down} on the source's veth end, so both ends lose
     * carrier) or brings it back up. Connections are not reset: TCP on each side notices only by
     * its own timeouts, as with a cable pulled between two hosts.
     */
    public void setLinkUp(boolean up) throws IOException {
        NetCommands.must("ip", "-n", a.namespace(), "link", "set", a.interfaceName(), up ? "up" : "down");
    }

    /**
     * Makes TCP in both namespaces give up on an unanswered connection after about
     * {@code retries} retransmissions ({@code net.ipv4.tcp_retries2}, per namespace; the
     * default 15 means about 15 minutes). Link-drop tests use it so a drop is noticed in seconds.
     */
    public void setTcpRetries(int retries) throws IOException {
        for (NetHost h : List.of(a, b)) {
            h.exec("sysctl", "-qw", "net.ipv4.tcp_retries2=" + retries);
        }
    }

    /** Kills the proxies and every process started on either host, then removes both namespaces. */
    @Override
    public void close() {
        removeAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook is running or ran
        }
    }

    private void removeAll() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lock.unlock();
        }
        proxies.killAll();
        a.killAll();
        b.killAll();
        for (NetHost h : List.of(a, b)) {
            killInside(h.namespace());
            NetCommands.run("ip", "netns", "del", h.namespace());
        }
    }

    @Override
    public String toString() {
        return a + " <-> " + b + ", " + shape.label() + (netem ? " (netem)" : "");
    }
}
