package dev.strata.harness.torture;

import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.harness.launcher.CommandLineParser;
import dev.strata.harness.launcher.MachineBuilder;
import dev.strata.harness.launcher.StrataMachine;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * A whole machine in-process, built from a QEMU-style command line exactly as the launcher builds
 * one, with a QMP socket the test drives through {@link QmpLink}, and the fault-injection nodes
 * of its graph at hand for run-time faults.
 */
final class FaultRig implements AutoCloseable {

    final StrataMachine machine;
    final QmpLink qmp;
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    FaultRig(Path dir, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("-nodefaults", "-qmp", "unix:" + dir.resolve("q.sock") + ",server=on,wait=off"));
        PrintStream ps = new PrintStream(out, true);
        machine = new MachineBuilder(InputStream.nullInputStream(), ps, ps).build(new CommandLineParser().parse(all));
        qmp = QmpLink.connect(dir.resolve("q.sock"), Duration.ofSeconds(30));
    }

    FaultInjectionDriver fault(String nodeName) {
        return (FaultInjectionDriver) machine.graph().node(nodeName).driver();
    }

    String call(String json) throws Exception {
        return qmp.call(json, Duration.ofSeconds(30));
    }

    String status() throws Exception {
        return QmpLink.field(call("{\"execute\": \"query-status\"}"), "status");
    }

    /** Waits up to 60 s for {@code cond}; fails the test with {@code what} otherwise. */
    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    /** The first event named {@code name}, or null. */
    String event(String name) {
        String key = "\"event\": \"" + name + "\"";
        return qmp.events().stream().filter(e -> e.contains(key)).findFirst().orElse(null);
    }

    @Override
    public void close() throws Exception {
        qmp.close();
        machine.close();
    }
}
