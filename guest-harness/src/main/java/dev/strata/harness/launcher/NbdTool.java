package dev.strata.harness.launcher;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.nbd.NbdExport;
import dev.strata.blockdrv.nbd.NbdListenAddress;
import dev.strata.blockdrv.nbd.NbdServer;
import dev.strata.blockdrv.nbd.NbdServerOptions;
import dev.strata.blockdrv.nbd.NbdTlsConfig;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import dev.strata.monitor.Version;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code strata nbd [OPTIONS] FILE}: serves one image over NBD as {@code qemu-nbd} does (same
 * options, defaults and messages), or lists another server's exports with {@code -L}. The image is
 * opened the way {@code -drive} opens it, so {@code --cache}, {@code --aio}, {@code --discard} and
 * {@code --detect-zeroes} reach the block layer as the same options.
 *
 * <p>Runs on the calling thread until the server ends: after its last client without
 * {@code -t}, on SIGTERM/SIGINT otherwise.
 */
public final class NbdTool {

    /** Set in the environment of the process {@code --fork} starts; it reports readiness on stdout. */
    static final String FORK_CHILD = "STRATA_NBD_FORKED";
    static final String READY = "strata-nbd-ready";
    private static final String PROG = "strata nbd";

    private NbdTool() {
    }

    /**
     * @param process true when this is the whole process ({@code bin/strata nbd}): SIGTERM, SIGINT
     *                and SIGHUP then end the server; in-process callers (tests) keep the JVM's handlers
     */
    public static int run(String[] argv, PrintStream out, PrintStream err, boolean process) {
        NbdToolOptions o;
        try {
            o = NbdToolOptions.parse(List.of(argv));
        } catch (NbdToolOptions.Bad e) {
            err.println(PROG + ": " + e.getMessage());
            if (e.tryHelp) {
                err.println((e.getMessage().startsWith("Invalid number") ? "" : PROG + ": ") + "Try `" + PROG + " --help' for more information.");
            }
            return 1;
        }
        if (o.help) {
            out.print(NbdToolHelp.TEXT);
            return 0;
        }
        if (o.version) {
            out.println(PROG + " (Strata " + Version.STRATA + ", qemu-nbd 7.2 compatible)");
            return 0;
        }
        UserObjects objects = new UserObjects();
        try {
            for (String spec : o.objects) {
                objects.addFromOptionString(spec);
            }
            if (o.list) {
                return NbdList.run(o, objects, out, err);
            }
            if (o.fork && System.getenv(FORK_CHILD) == null) {
                return NbdFork.startChild(argv, err);
            }
            return serve(o, objects, process);
        } catch (BlockException | UsageException e) {
            err.println(PROG + ": " + e.getMessage());
            return 1;
        }
    }

    private static int serve(NbdToolOptions o, UserObjects objects, boolean process) {
        NbdTlsConfig tls = null;
        if (o.tlsCreds != null) {
            try {
                tls = objects.serverCredentials(o.tlsCreds).serverConfig(o.tlsAuthz == null ? null : objects.authorizer(o.tlsAuthz));
            } catch (BlockException e) {
                throw new UsageException(null, "Failed to get TLS creds: " + e.getMessage());
            }
        }
        BlockGraph graph = new BlockGraph();
        Path overlay = null;
        NbdServer server = null;
        try {
            BlockNode root;
            try {
                if (o.format != null && !o.imageOpts && DriverRegistry.standard().find(o.format) == null) {
                    throw new BlockException(BlockException.Kind.INVALID_ARGUMENT, "Unknown driver '" + o.format + "'");
                }
                if (o.snapshot) {
                    overlay = snapshotOverlay(o);
                }
                root = graph.open(BlockOptions.of(nodeOptions(o, overlay)));
            } catch (BlockException e) {
                throw new UsageException(null, "Failed to blk_new_open '" + o.file + "': " + e.getMessage());
            }
            BlockBackend backend = graph.createBackend("nbd", root, BlockBackend.CacheMode.parse(o.cache == null ? "writeback" : o.cache));
            if (o.bitmap != null) {
                // Strata keeps no persistent bitmaps in image files, so none can be named here
                throw new UsageException(null, "Bitmap '" + o.bitmap + "' is not found");
            }
            NbdExport export = NbdExport.builder(o.exportName == null ? "" : o.exportName, backend).description(o.description)
                    .writable(!o.readOnly).multiConn(o.readOnly || o.shared != 1).allocationDepth(o.allocationDepth).build();
            server = dev.strata.monitor.nbd.ListenAddresses.start(address(o), new NbdServerOptions(o.shared, tls));
            CountDownLatch ended = new CountDownLatch(1);
            if (!o.persistent) {
                server.addConnectionListener(new LastClientWatch(ended));
            }
            server.addExport(export);
            writePidFile(o);
            NbdFork.reportReady();
            waitForEnd(ended, process);
            return 0;
        } finally {
            if (server != null) {
                server.stop();
            }
            graph.closeAll();
            deleteQuietly(overlay);
            if (o.pidFile != null) {
                deleteQuietly(Path.of(o.pidFile));
            }
        }
    }

    /**
     * What {@code -drive} would pass to the block layer for this image and these options; with
     * {@code --image-opts} FILE is already such a set of options ({@code driver=qcow2,file.filename=...}).
     */
    private static Map<String, String> nodeOptions(NbdToolOptions o, Path overlay) {
        String cache = o.cache == null ? "writeback" : o.cache;
        StringBuilder extra = new StringBuilder();
        if (o.aio != null) {
            extra.append(",aio=").append(o.aio);
        }
        if (o.discard != null) {
            extra.append(",discard=").append(o.discard);
        }
        if (o.detectZeroes != null) {
            extra.append(",detect-zeroes=").append(o.detectZeroes);
        }
        if (o.imageOpts) {
            Map<String, String> m = new LinkedHashMap<>(OptionText.parse(o.file + extra, null, List.of(), o.file, false));
            m.putIfAbsent("read-only", o.readOnly ? "on" : "off");
            if ((cache.equals("none") || cache.equals("directsync")) && !m.containsKey("cache.direct")) {
                m.put("cache.direct", "on");
            }
            return m;
        }
        StringBuilder drive = new StringBuilder("if=none,id=nbd,file=").append((overlay != null ? overlay.toString() : o.file).replace(",", ",,"));
        if (overlay != null) {
            drive.append(",format=qcow2");
        } else if (o.format != null) {
            drive.append(",format=").append(o.format.replace(",", ",,"));
        }
        if (o.readOnly) {
            drive.append(",readonly=on");
        }
        drive.append(",cache=").append(cache).append(extra);
        DriveSpec d = new DriveOptions().parse(drive.toString(), o.file);
        return new LinkedHashMap<>(MachineBuilder.driveNodeOptions(d));
    }

    /** {@code -s}: writes go to a temporary qcow2 overlay on FILE, deleted at exit (qemu-nbd puts it in /var/tmp). */
    private static Path snapshotOverlay(NbdToolOptions o) {
        try {
            Path base = Path.of(o.file).toAbsolutePath();
            Path tmpDir = Path.of(System.getenv().getOrDefault("TMPDIR", "/var/tmp"));
            Path overlay = Files.createTempFile(Files.isDirectory(tmpDir) ? tmpDir : Path.of("/tmp"), "vl.", ".qcow2");
            Files.delete(overlay);
            BlockGraph g = new BlockGraph();
            BlockOptions bo = BlockOptions.empty().with("file", base.toString()).with("read-only", "on");
            BlockNode b = g.open(o.format != null ? bo.with("driver", o.format) : bo);
            String fmt = b.formatName();
            long size = b.size();
            g.closeAll();
            DriverRegistry.standard().require("qcow2").create(overlay, size,
                    BlockOptions.empty().with("backing_file", base.toString()).with("backing_fmt", fmt));
            return overlay;
        } catch (IOException e) {
            throw new UsageException(null, "Failed to create temporary snapshot file: " + e.getMessage());
        }
    }

    private static NbdListenAddress address(NbdToolOptions o) {
        if (o.socket != null) {
            return NbdListenAddress.unix(Path.of(o.socket));
        }
        String host = o.bind == null ? "0.0.0.0" : o.bind;
        String port = o.port == null ? "10809" : o.port;
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < 0 || p > 65535) {
            throw new UsageException(null, "address resolution failed for " + host + ":" + port + ": Servname not supported for ai_socktype");
        }
        return NbdListenAddress.inet(host, p);
    }

    private static void writePidFile(NbdToolOptions o) {
        if (o.pidFile == null) {
            return;
        }
        try {
            Files.writeString(Path.of(o.pidFile), ProcessHandle.current().pid() + "\n");
        } catch (IOException e) {
            throw new UsageException(null, "Failed to write pid file '" + o.pidFile + "': " + e.getMessage());
        }
    }

    /**
     * Without {@code -t} the server ends once a client that got as far as the export (not a mere
     * {@code -L} listing) has been seen and no connection remains, as qemu-nbd: told by the
     * server's connection events, on the connection threads.
     */
    private static final class LastClientWatch implements dev.strata.blockdrv.nbd.NbdConnectionListener {
        private final CountDownLatch ended;
        private volatile boolean seenClient;

        LastClientWatch(CountDownLatch ended) {
            this.ended = ended;
        }

        @Override
        public void clientAttached(NbdExport export) {
            seenClient = true;
        }

        @Override
        public void connectionClosed(int stillOpen) {
            if (seenClient && stillOpen == 0) {
                ended.countDown();
            }
        }
    }

    /** Blocks until {@code ended} (last client gone, see {@link LastClientWatch}) or a signal ends the process. */
    private static void waitForEnd(CountDownLatch ended, boolean process) {
        if (process) {
            installSignals(ended);
        }
        try {
            ended.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void installSignals(CountDownLatch latch) {
        for (String name : new String[] {"TERM", "INT", "HUP"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> latch.countDown());
            } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
                // not available: the JVM's default handling ends the process, the OS frees the socket
            }
        }
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // left behind; nothing to report at exit
        }
    }

    static List<String> withoutFork(String[] argv) {
        List<String> l = new ArrayList<>();
        for (String a : argv) {
            if (!a.equals("--fork")) {
                l.add(a);
            }
        }
        return l;
    }
}
