package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.qmp.QmpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Assembles a {@link StrataMachine} from a {@link MachineConfig}: opens {@code -blockdev} nodes and
 * {@code -drive} images into one {@link BlockGraph}, creates a backend per drive, plugs disks into
 * devices, then starts the guest, the job manager and the monitors. A failure closes what was
 * already opened and becomes one {@link UsageException} naming the option that caused it, the way
 * QEMU reports {@code -drive file=x: Could not open 'x': No such file or directory}.
 *
 * <p>One builder per machine, used from the launcher's main thread.
 */
public final class MachineBuilder {

    /** How long quit waits for cancelled jobs to wind down before closing images anyway. */
    static final Duration JOB_STOP_TIMEOUT = Duration.ofSeconds(30);

    /** How long quit lets QMP clients receive their last replies before the sockets close. */
    static final long QUIT_REPLY_GRACE_MS = 500;

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;

    public MachineBuilder(InputStream in, PrintStream out, PrintStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
    }

    public StrataMachine build(MachineConfig config) {
        BlockGraph graph = new BlockGraph();
        StrataMachine machine = null;
        try {
            openBlockdevs(graph, config);
            openDrives(graph, config);
            List<DeviceLayout.Planned> devices = DeviceLayout.plan(config);
            attach(graph, config, devices);
            StrataMachine m = new StrataMachine(config, graph, devices, out, err);
            machine = m;
            checkGuests(config, machine);
            checkMonitors(config);
            // stopped in reverse order on close: jobs end after the workloads and front ends
            m.addService(() -> m.jobs().cancelAll(JOB_STOP_TIMEOUT));
            machine.setMonitor(Monitor.create(machine));
            startQmp(m);
            return machine;
        } catch (RuntimeException e) {
            if (machine != null) {
                machine.close();
            } else {
                graph.closeAll();
            }
            throw e;
        }
    }

    private static void openBlockdevs(BlockGraph graph, MachineConfig config) {
        for (BlockdevSpec b : config.blockdevs()) {
            try {
                graph.open(BlockOptions.of(b.options()));
            } catch (BlockException e) {
                throw new UsageException(b.typed(), e.getMessage());
            }
        }
    }

    private static void openDrives(BlockGraph graph, MachineConfig config) {
        for (DriveSpec d : config.drives()) {
            try {
                BlockNode root = graph.open(BlockOptions.of(driveNodeOptions(d)));
                graph.createBackend(d.id(), root, BlockBackend.CacheMode.parse(d.cache()));
            } catch (BlockException e) {
                throw new UsageException(d.typed(), e.getMessage());
            }
        }
    }

    /**
     * For {@code -drive}, {@code file=} is always a file name; once {@code file.*} options are
     * present too it must move to {@code file.filename} so both describe the same protocol node.
     */
    static Map<String, String> driveNodeOptions(DriveSpec d) {
        Map<String, String> o = new LinkedHashMap<>(d.blockOptions());
        boolean nested = o.keySet().stream().anyMatch(k -> k.startsWith("file."));
        if (nested && o.containsKey("file")) {
            o.put("file.filename", o.remove("file"));
        }
        if (nested && !o.containsKey("file.driver")) {
            o.put("file.driver", "file");
        }
        return o;
    }

    private static void attach(BlockGraph graph, MachineConfig config, List<DeviceLayout.Planned> devices) {
        for (DeviceLayout.Planned p : devices) {
            BlockBackend b = graph.backend(p.drive());
            if (b == null) {
                // -device drive=NODE on a -blockdev node: QEMU gives the device an anonymous
                // backend that info block lists under the node's name
                BlockNode node = graph.node(p.drive());
                String typed = config.devices().stream().filter(d -> d.drive().equals(p.drive()))
                        .map(DeviceSpec::typed).findFirst().orElse("-device");
                if (node == null) {
                    throw new UsageException(typed, "Property 'drive' can't find value '" + p.drive() + "'");
                }
                try {
                    b = graph.createBackend(p.drive(), node, blockdevCache(config, p.drive()));
                } catch (BlockException e) {
                    throw new UsageException(typed, e.getMessage());
                }
            }
            b.setAttachedTo(p.qomPath());
        }
    }

    /** A -blockdev node's cache mode: always writeback (a device property), direct and no-flush from its options. */
    private static BlockBackend.CacheMode blockdevCache(MachineConfig config, String nodeName) {
        Map<String, String> o = config.blockdevs().stream().filter(b -> b.nodeName().equals(nodeName))
                .map(BlockdevSpec::options).findFirst().orElse(Map.of());
        BlockOptions bo = BlockOptions.of(o);
        return new BlockBackend.CacheMode(true, bo.getBool("cache.direct", false), bo.getBool("cache.no-flush", false));
    }

    /**
     * Starts the front ends the command line asked for (the HMP console on stdio for now); called
     * by the launcher after it printed what it wanted to print first.
     */
    public void startFrontEnds(StrataMachine machine) {
        if (machine.config().monitor().kind() == Endpoint.Kind.STDIO) {
            new LineConsole(machine.monitor().hmp(), in, out, machine).start();
        }
    }

    /** Front ends this build does not have yet fail here, before anything runs. */
    private static void checkMonitors(MachineConfig config) {
        Endpoint m = config.monitor();
        if (m.kind() == Endpoint.Kind.UNIX && !Features.hmpSocket()) {
            throw new UsageException(m.typed(), "HMP on a unix socket is not in this build yet (use -monitor stdio)");
        }
    }

    /** Binds every {@code -qmp} socket; with {@code wait=on} waits for the first client, as QEMU does. */
    private void startQmp(StrataMachine m) {
        for (Endpoint q : m.config().qmp()) {
            QmpServer server;
            try {
                server = QmpServer.start(m.monitor(), q.path());
            } catch (IOException | RuntimeException e) {
                throw new UsageException(q.typed(), "Failed to bind socket to " + q.path() + ": " + reason(e));
            }
            m.addService(() -> {
                // A monitor's quit reply is queued just before quit() runs, and closing the server
                // drops connections at once: give the writers a moment to send what is queued.
                if ("quit".equals(m.quitReason()) && server.clientCount() > 0) {
                    Thread.sleep(QUIT_REPLY_GRACE_MS);
                }
                server.close();
            });
            if (q.waitForClient()) {
                err.println("strata: " + q.typed() + ": info: waiting for connection on: unix:" + q.path() + ",server=on");
                while (server.clientCount() == 0 && !m.isQuitRequested()) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new UsageException(q.typed(), "interrupted while waiting for a client");
                    }
                }
            }
        }
    }

    private static String reason(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "Permission denied";
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    private void checkGuests(MachineConfig config, StrataMachine machine) {
        for (GuestSpec g : config.guests()) {
            if (g.drive() != null && machine.devices().stream().noneMatch(p -> p.drive().equals(g.drive())
                    || g.drive().equals(p.qdevId()))) {
                throw new UsageException(g.typed(), "no disk device is attached to drive '" + g.drive() + "'");
            }
            if (!Features.guest()) {
                throw new UsageException(g.typed(), "the synthetic guest is not in this build yet");
            }
        }
    }
}
