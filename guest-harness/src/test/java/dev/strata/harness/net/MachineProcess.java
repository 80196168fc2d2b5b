package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.strata.harness.torture.QmpLink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Strata machine or a QEMU 7.2 process running on one {@link NetHost}, driven over its QMP unix
 * socket (reachable from the test's own namespace: a socket is a file).
 *
 * <p>Used from the test thread.
 */
final class MachineProcess implements AutoCloseable {

    static final Duration QMP_TIMEOUT = Duration.ofSeconds(90);

    final String name;
    final Process process;
    final QmpLink qmp;
    final Path log;

    private MachineProcess(String name, Process process, QmpLink qmp, Path log) {
        this.name = name;
        this.process = process;
        this.qmp = qmp;
        this.log = log;
    }

    /** Starts {@code bin/strata ARGS -qmp unix:DIR/NAME.sock} on {@code host}. */
    static MachineProcess strata(NetHost host, Path dir, String name, String... args) throws Exception {
        Path sock = dir.resolve(name + ".sock");
        List<String> all = new ArrayList<>(List.of("-nodefaults"));
        all.addAll(List.of(args));
        all.addAll(List.of("-qmp", "unix:" + sock + ",server=on,wait=off"));
        List<String> cmd = host.javaCommand(List.of("-Xmx512m", "-XX:+UseZGC", "--enable-native-access=ALL-UNNAMED"),
                "dev.strata.harness.Main", all);
        return start(host, dir, name, sock, cmd);
    }

    /** Starts {@code qemu-system-x86_64 -machine none} (no guest OS) with {@code args} on {@code host}. */
    static MachineProcess qemu(NetHost host, Path dir, String name, String... args) throws Exception {
        Path sock = dir.resolve(name + ".sock");
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(List.of(args));
        return start(host, dir, name, sock, cmd);
    }

    private static MachineProcess start(NetHost host, Path dir, String name, Path sock, List<String> cmd) throws Exception {
        Path log = dir.resolve(name + ".log");
        Process p = host.start(cmd, log, dir);
        try {
            return new MachineProcess(name, p, QmpLink.connect(sock, QMP_TIMEOUT), log);
        } catch (IOException e) {
            p.destroyForcibly();
            throw new IOException(name + " did not start: " + e.getMessage() + "\n" + readLog(log), e);
        }
    }

    private static String readLog(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log)";
        }
    }

    String log() {
        return readLog(log);
    }

    /** Sends {@code execute} with {@code argsJson} (an object's inside, may be empty); the raw reply. */
    String call(String execute, String argsJson) throws IOException, InterruptedException {
        String cmd = argsJson.isEmpty() ? "{\"execute\": \"" + execute + "\"}"
                : "{\"execute\": \"" + execute + "\", \"arguments\": {" + argsJson + "}}";
        return qmp.call(cmd, QMP_TIMEOUT);
    }

    /** As {@link #call}, failing the test unless the reply is a return. */
    String ok(String execute, String argsJson) throws IOException, InterruptedException {
        String r = call(execute, argsJson);
        assertTrue(r.startsWith("{\"return\""), () -> name + ": " + execute + " {" + argsJson + "} -> " + r + "\n" + log());
        return r;
    }

    /** Waits for the first event named {@code event} received after {@code since} events; returns it. */
    String awaitEvent(String event, int since, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String key = "\"event\": \"" + event + "\"";
        while (true) {
            List<String> ev = qmp.events();
            for (int i = since; i < ev.size(); i++) {
                if (ev.get(i).contains(key)) {
                    return ev.get(i);
                }
            }
            if (System.nanoTime() > deadline || !process.isAlive()) {
                fail(name + ": no " + event + " within " + timeout + " (alive " + process.isAlive() + "); events " + ev + "\n" + log());
            }
            Thread.sleep(20);
        }
    }

    int eventCount() {
        return qmp.events().size();
    }

    /** {@code quit}, then waits for the process to end; returns its output. */
    String quit() throws Exception {
        try {
            qmp.call("{\"execute\": \"quit\"}", QMP_TIMEOUT);
        } catch (IOException e) {
            // the process may close the socket before its reply arrives
        }
        qmp.close();
        if (!process.waitFor(150, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(name + " did not quit\n" + log());
        }
        return log();
    }

    @Override
    public void close() throws IOException {
        qmp.close();
        process.destroyForcibly();
    }
}
