package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverOptions;
import dev.strata.device.BlockDevice;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import dev.strata.harness.guest.Guest;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.qmp.QmpServer;
import dev.strata.monitor.hmp.HmpSocketServer;
import dev.strata.monitor.hmp.JLineConsole;
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
 * virtio-blk or IDE devices in QEMU's order, attaches the synthetic guest and starts its
 * workloads, then the monitor ({@link MachineMonitor}) and the front ends on it: the HMP and QMP
 * sockets here, the terminal console in {@link #startFrontEnds}. A failure closes what was already opened and
 * becomes one {@link UsageException} naming the option that caused it, the way QEMU reports
 * {@code -drive file=x: Could not open 'x': No such file or directory}.
 *
 * <p>One builder per machine, used from the launcher's main thread.
 */
public final class MachineBuilder {

    /** How long quit waits for cancelled jobs to wind down before closing images anyway. */
    static final Duration JOB_STOP_TIMEOUT = Duration.ofSeconds(30);
    /** How long quit lets QMP clients receive their last replies before the sockets close. */
    static final long QUIT_REPLY_GRACE_MS = 500;
    /** Guest memory below the per-workload buffers: the guest heap starts at 1 MiB, queues and rings. */
    static final long BASE_GUEST_MEMORY = 32L << 20;

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;

    public MachineBuilder(InputStream in, PrintStream out, PrintStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
    }

    /** {@code -object}: TLS credentials and authorization objects, before the monitor can name them. */
    private static void createObjects(MachineConfig config, UserObjects objects) {
        for (String spec : config.objects()) {
            try {
                objects.addFromOptionString(spec);
            } catch (dev.strata.blockdrv.BlockException e) {
                throw new UsageException("-object " + spec, e.getMessage());
            }
        }
    }

    public StrataMachine build(MachineConfig config) {
        BlockGraph graph = new BlockGraph();
        StrataMachine machine = null;
        try {
            // objects first: a -blockdev driver=nbd,tls-creds=ID names one
            UserObjects objects = new UserObjects();
            createObjects(config, objects);
            graph.useObjects(objects::get);
            openBlockdevs(graph, config);
            openDrives(graph, config);
            List<DeviceLayout.Planned> plan = DeviceLayout.plan(config);
            VmRunState vm = new VmRunState(config.startPaused() ? RunState.PRELAUNCH : RunState.RUNNING);
            GuestMemory memory = guestMemory(config, plan.size());
            Peripherals devices = new Peripherals(vm, memory);
            Guest guest = new Guest(vm, memory);
            StrataMachine m = new StrataMachine(config, graph, objects, vm, devices, guest, out, err);
            machine = m;
            // services stop in reverse order: QMP, workloads (with their summary), jobs, devices
            m.addService(() -> {
                guest.close();
                vm.shutdown();
                devices.close();
            });
            m.addService(() -> m.jobs().cancelAll(JOB_STOP_TIMEOUT));
            Workloads workloads = new Workloads(m);
            m.addService(() -> workloads.stop(out, err));
            attach(graph, config, plan, m);
            workloads.start(err);
            m.setMonitor(MachineMonitor.create(m, new EventBus()));
            startHmpSocket(m);
            startQmp(m);
            return m;
        } catch (RuntimeException e) {
            if (machine != null) {
                machine.close();
            } else {
                graph.closeAll();
            }
            throw e;
        }
    }

    /**
     * Starts the front end that reads the terminal ({@code -monitor stdio}); called by the
     * launcher after it printed what it wanted to print first. On a real terminal that is the
     * monitor's JLine console (line editing, history, completion); on a pipe (scripts, tests) a
     * plain line console with the same words and output.
     */
    public void startFrontEnds(StrataMachine machine) {
        if (machine.config().monitor().kind() != Endpoint.Kind.STDIO) {
            return;
        }
        if (in == System.in && stdinIsTerminal()) {
            try {
                JLineConsole console = JLineConsole.onSystemTerminal(machine.monitor(), machine.jobs());
                // closed first on shutdown: gives the terminal back its normal settings
                machine.addService(console::close);
                Thread.ofPlatform().daemon().name("strata-hmp-console").start(() -> {
                    console.run();
                    machine.requestQuit("end of input");
                });
                return;
            } catch (IOException | RuntimeException e) {
                err.println("strata: no line editor on this terminal (" + e.getMessage() + "); using a plain console");
            }
        }
        LineConsole console = new LineConsole(machine.monitor().hmp(), machine.monitor().events(), in, out, machine);
        // registered last, so it runs first on close: later output starts on a fresh line
        machine.addService(console::endLine);
        console.start();
    }

    /** True when stdin is an interactive terminal (JDK 22+ can say so even when a Console exists). */
    private static boolean stdinIsTerminal() {
        java.io.Console c = System.console();
        if (c == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (NoSuchMethodException e) {
            return true; // JDK 21: a Console exists only for a terminal
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }

    /** {@code -monitor unix:PATH,server=on,...}: an HMP session per client, as QEMU's readline monitor. */
    private void startHmpSocket(StrataMachine m) {
        Endpoint e = m.config().monitor();
        if (e.kind() != Endpoint.Kind.UNIX) {
            return;
        }
        HmpSocketServer server;
        try {
            server = HmpSocketServer.start(m.monitor(), e.path());
        } catch (IOException | RuntimeException ex) {
            throw new UsageException(e.typed(), "Failed to bind socket to " + e.path() + ": " + reason(ex));
        }
        m.addService(() -> {
            if ("quit".equals(m.quitReason()) && server.clientCount() > 0) {
                Thread.sleep(QUIT_REPLY_GRACE_MS);
            }
            server.close();
        });
        awaitClient(e, server::clientCount, m);
    }

    private static void openBlockdevs(BlockGraph graph, MachineConfig config) {
        for (BlockdevSpec b : config.blockdevs()) {
            try {
                graph.holdForMonitor(graph.open(BlockOptions.of(b.options())));
            } catch (BlockException e) {
                // -blockdev words unknown keys as QEMU's schema check does
                String unexpected = DriverOptions.unexpectedPath(e);
                throw new UsageException(b.typed(), unexpected != null ? "Parameter '" + unexpected + "' is unexpected" : e.getMessage());
            }
        }
    }

    private void openDrives(BlockGraph graph, MachineConfig config) {
        for (DriveSpec d : config.drives()) {
            if (d.readOnly() && "on".equals(d.blockOptions().get("copy-on-read"))) {
                err.println("strata: " + d.typed() + ": warning: disabling copy-on-read on read-only drive");
            }
            try {
                BlockNode root = graph.open(BlockOptions.of(driveNodeOptions(d)));
                graph.createBackend(d.id(), root, d.writeCache());
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
            String under = o.get("file.driver");
            if (under == null || under.equals("file") || under.equals("null-co")) {
                o.put("file.filename", o.remove("file"));
            } else if (o.keySet().stream().noneMatch(k -> k.startsWith("file.file"))) {
                // a filter (fault-injection) between the format and the image file: file= names that file
                o.put("file.file.filename", o.remove("file"));
            } else {
                // the nested options name the image file themselves; file= only labels the drive
                o.remove("file");
            }
        }
        if (nested && !o.containsKey("file.driver")) {
            o.put("file.driver", "file");
        }
        return o;
    }

    /** Enough guest memory for every device's queue and every workload's buffers. */
    private static GuestMemory guestMemory(MachineConfig config, int deviceCount) {
        long bytes = BASE_GUEST_MEMORY + (2L << 20) * deviceCount;
        for (GuestSpec g : config.guests()) {
            bytes += (long) g.workload().blockSize() * g.workload().ioDepth() + (2L << 20);
        }
        try {
            return GuestMemory.allocate(bytes);
        } catch (IllegalArgumentException | OutOfMemoryError e) {
            throw new UsageException(null, "the guest needs " + (bytes >> 20) + " MiB of memory for its workloads' buffers "
                    + "(bs x iodepth), more than Strata can give it; use a smaller bs or iodepth");
        }
    }

    private static void attach(BlockGraph graph, MachineConfig config, List<DeviceLayout.Planned> plan, StrataMachine m) {
        for (DeviceLayout.Planned p : plan) {
            try {
                BlockBackend b = graph.backend(p.drive());
                if (b == null) {
                    // -device drive=NODE on a -blockdev node: QEMU gives the device an anonymous
                    // backend that info block lists under the node's name
                    BlockNode node = graph.node(p.drive());
                    if (node == null) {
                        throw new UsageException(p.typed(), "Property 'drive' can't find value '" + p.drive() + "'");
                    }
                    // its write cache is on: writethrough is a -drive (or device) choice
                    b = graph.createBackend(p.drive(), node, true);
                }
                if (p.writeCache() != null) {
                    b.setWriteCache(p.writeCache());   // write-cache=on|off overrides the drive's cache.writeback
                }
                DeviceOptions o = DeviceOptions.of(b).withId(p.qdevId()).withErrorPolicies(p.rerror(), p.werror());
                BlockDevice d = p.virtio() ? m.devices().createVirtioBlk(o) : m.devices().createIdeHd(o, p.fromDrive());
                m.guest().attach(d);
            } catch (BlockException | IllegalArgumentException e) {
                throw new UsageException(p.typed(), e.getMessage());
            }
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
            awaitClient(q, server::clientCount, m);
        }
    }

    /** QEMU's {@code wait=on}: start-up holds until the first client connects. */
    private void awaitClient(Endpoint e, java.util.function.IntSupplier clients, StrataMachine m) {
        if (!e.waitForClient()) {
            return;
        }
        err.println("strata: " + e.typed() + ": info: waiting for connection on: unix:" + e.path() + ",server=on");
        while (clients.getAsInt() == 0 && !m.isQuitRequested()) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new UsageException(e.typed(), "interrupted while waiting for a client");
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
}
