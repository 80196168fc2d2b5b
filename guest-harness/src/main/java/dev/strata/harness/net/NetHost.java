package dev.strata.harness.net;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * One end of a {@link TwoHostLink}: a network namespace with one veth interface and one IPv4
 * address. Commands and processes run inside it through {@code ip netns exec}; unix sockets and
 * files are shared with the rest of the machine, so a QMP socket of a machine started here is
 * reached from anywhere.
 *
 * <p>Thread safety: immutable apart from the list of started processes (a concurrent list), so
 * any thread may start processes; {@link TwoHostLink#close} kills them.
 */
public final class NetHost {

    private final String namespace;
    private final String vethName;
    private final String address;
    private final List<Process> started = new CopyOnWriteArrayList<>();

    NetHost(String namespace, String vethName, String address) {
        this.namespace = namespace;
        this.vethName = vethName;
        this.address = address;
    }

    /** The network namespace's name ({@code ip netns list}). */
    public String namespace() {
        return namespace;
    }

    /** The veth interface inside the namespace. */
    public String interfaceName() {
        return vethName;
    }

    /** This host's IPv4 address on the link (reachable only from the other host). */
    public String address() {
        return address;
    }

    /** {@code cmd} prefixed so it runs inside this namespace. */
    public List<String> command(List<String> cmd) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        all.addAll(cmd);
        return all;
    }

    /**
     * A command line that runs {@code mainClass} of this JVM's class path in a new JVM (give it to
     * {@link #start} or {@link #command} to run it inside the namespace, the way tests start a
     * Strata machine on a "host").
     */
    public List<String> javaCommand(List<String> jvmOptions, String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        return cmd;
    }

    /** Runs {@code cmd} inside the namespace to completion; throws with its output unless it exits 0. */
    public String exec(String... cmd) throws IOException {
        NetCommands.Result r = NetCommands.run(command(List.of(cmd)));
        if (!r.ok()) {
            throw new IOException("[" + namespace + "] " + String.join(" ", cmd) + " failed (" + r.status() + "): " + r.output());
        }
        return r.output();
    }

    /**
     * Starts {@code cmd} inside the namespace with stdout and stderr to {@code log} (null: discarded).
     * The process is killed when the link closes, if it still runs.
     */
    public Process start(List<String> cmd, Path log, Path workDir) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command(cmd)).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(log == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(log.toFile()));
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        return track(pb.start());
    }

    /** Keeps {@code p} to be killed on close (for processes started with a custom ProcessBuilder). */
    public Process track(Process p) {
        started.add(p);
        return p;
    }

    /** Kills every process started here that still runs (SIGKILL) and waits for it. */
    void killAll() {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : started) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        started.clear();
    }

    @Override
    public String toString() {
        return namespace + " (" + address + ")";
    }
}
