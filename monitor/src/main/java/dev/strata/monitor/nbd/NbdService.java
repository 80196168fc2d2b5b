package dev.strata.monitor.nbd;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.nbd.NbdAuthorizer;
import dev.strata.blockdrv.nbd.NbdExport;
import dev.strata.blockdrv.nbd.NbdListenAddress;
import dev.strata.blockdrv.nbd.NbdRemoveMode;
import dev.strata.blockdrv.nbd.NbdServer;
import dev.strata.blockdrv.nbd.NbdServerOptions;
import dev.strata.blockdrv.nbd.NbdTlsConfig;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import dev.strata.jobs.bitmap.NodeBitmaps;
import dev.strata.jobs.bitmap.NodeDirtyBitmap;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.Json;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The machine's NBD server and block exports, as QEMU keeps them: at most one server
 * ({@code nbd-server-start}), exports by id ({@code block-export-add}, {@code nbd-server-add}), an
 * export staying listed as shutting down until its last client has left, then
 * {@code BLOCK_EXPORT_DELETED}. Each export reaches its node through a backend of its own, as a
 * device does, so drains, jobs and bitmaps see its I/O.
 *
 * <p>The launcher creates one per machine and gives it to {@link NbdCommands}. Monitor threads
 * call every method; the server's connection threads call the export listener. {@link #lock}
 * guards {@link #server} and {@link #entries}.
 */
public final class NbdService {

    /** What {@code block-export-add} asks for, validated by the command. */
    record ExportRequest(String id, String nodeName, String name, String description, boolean writable, boolean writethrough,
                         List<String> bitmaps, boolean allocationDepth) {
    }

    private final BlockGraph graph;
    private final UserObjects objects;
    private final EventBus events;
    private final ReentrantLock lock = new ReentrantLock();
    private NbdServer server;
    private final Map<String, ExportEntry> entries = new LinkedHashMap<>();

    /**
     * The NBD service of the machine whose nodes are in {@code graph}; {@code objects} holds the
     * TLS credentials and authorization objects it names, {@code events} gets
     * {@code BLOCK_EXPORT_DELETED}.
     */
    public NbdService(BlockGraph graph, UserObjects objects, EventBus events) {
        this.graph = graph;
        this.objects = objects;
        this.events = events;
    }

    /** The {@code -object}/{@code object-add} registry the server's TLS options name. */
    UserObjects objects() {
        return objects;
    }

    void start(NbdListenAddress address, String tlsCreds, String tlsAuthz, int maxConnections) {
        lock.lock();
        try {
            if (server != null) {
                throw CommandException.generic("NBD server already running");
            }
            NbdTlsConfig tls = null;
            if (tlsCreds != null) {
                NbdAuthorizer authz = tlsAuthz == null ? null : objects.authorizer(tlsAuthz);
                tls = objects.serverCredentials(tlsCreds).serverConfig(authz);
            }
            NbdServer s = ListenAddresses.start(address, new NbdServerOptions(maxConnections, tls));
            s.addExportListener(this::deleted);
            server = s;
        } finally {
            lock.unlock();
        }
    }

    boolean running() {
        lock.lock();
        try {
            return server != null;
        } finally {
            lock.unlock();
        }
    }

    /** Stops the server; every export is removed (hard) and announced once its clients are gone. */
    void stop() {
        NbdServer s;
        lock.lock();
        try {
            s = server;
            if (s == null) {
                throw CommandException.generic("NBD server not running");
            }
            server = null;
            entries.replaceAll((id, e) -> e.closing());
        } finally {
            lock.unlock();
        }
        s.stop();
    }

    /** QEMU's {@code blk_exp_add} for type nbd, checks in QEMU's order. */
    void add(ExportRequest r) {
        lock.lock();
        try {
            if (!r.id().matches("[A-Za-z][A-Za-z0-9._-]*")) {
                throw CommandException.generic("Invalid block export id");
            }
            if (entries.containsKey(r.id())) {
                throw CommandException.generic("Block export id '" + r.id() + "' is already in use");
            }
            BlockNode node = graph.lookupOrNull(r.nodeName());
            if (node == null) {
                throw CommandException.generic("Cannot find device='' nor node-name='" + r.nodeName() + "'");
            }
            if (r.writable() && node.isReadOnly()) {
                throw CommandException.generic("Cannot export read-only node as writable");
            }
            if (server == null) {
                throw CommandException.generic("NBD server not running");
            }
            String name = r.name() != null ? r.name() : r.nodeName();
            if (name.length() > NbdExport.MAX_STRING) {
                throw CommandException.generic("export name '" + name + "' too long");
            }
            if (r.description() != null && r.description().length() > NbdExport.MAX_STRING) {
                throw CommandException.generic("description '" + r.description() + "' too long");
            }
            if (server.export(name) != null) {
                throw CommandException.generic("NBD server already has export named '" + name + "'");
            }
            // anonymous: not in the graph's drive list; writethrough turns the backend's write cache
            // off (QEMU: blk_set_enable_write_cache(blk, !writethrough)), so every write and zero
            // write is flushed by the backend before it is acknowledged
            BlockBackend backend = new BlockBackend(r.id(), node, !r.writethrough());
            NbdExport.Builder b = NbdExport.builder(name, backend).id(r.id()).description(r.description())
                    .writable(r.writable()).writethrough(r.writethrough())
                    // QEMU 7.2's built-in server advertises multi-conn on every export, writable ones
                    // too: all connections share this one backend, so a flush on any of them makes
                    // every completed write durable (nbdcopy then opens four connections)
                    .multiConn(true)
                    .allocationDepth(r.allocationDepth());
            for (String bm : r.bitmaps()) {
                b.bitmap(bitmap(node, bm, r.writable()));
            }
            NbdExport export = b.build();
            server.addExport(export);
            graph.hold(node);
            entries.put(r.id(), new ExportEntry(export, node, false));
        } finally {
            lock.unlock();
        }
    }

    /** QEMU's bitmap lookup for an export: the node or one of its backing files, usable, frozen if read-only. */
    private static NodeDirtyBitmap bitmap(BlockNode node, String name, boolean writable) {
        for (BlockNode n = node; n != null; n = n.backing()) {
            NodeDirtyBitmap b = NodeBitmaps.find(n, name);
            if (b != null) {
                if (b.isBusy()) {
                    throw CommandException.generic("Bitmap '" + name + "' is in use");
                }
                if (!writable && b.isEnabled()) {
                    throw CommandException.generic("Enabled bitmap '" + name + "' incompatible with readonly export");
                }
                return b;
            }
        }
        throw CommandException.generic("Bitmap '" + name + "' is not found");
    }

    /** Removes export {@code id} ({@code block-export-del}, {@code nbd-server-remove}). */
    void remove(String id, NbdRemoveMode mode) {
        NbdServer s;
        ExportEntry e;
        lock.lock();
        try {
            e = entries.get(id);
            if (e == null) {
                throw CommandException.generic("Export '" + id + "' is not found");
            }
            if (e.shuttingDown()) {
                throw CommandException.generic("Block export '" + id + "' is already shutting down");
            }
            s = server;
        } finally {
            lock.unlock();
        }
        try {
            s.removeExport(e.export().name(), mode);
        } catch (BlockException ex) {
            if (ex.kind() == BlockException.Kind.BUSY) {
                throw CommandException.generic("export '" + id + "' still in use");
            }
            throw ex;
        }
        lock.lock();
        try {
            entries.computeIfPresent(id, (k, old) -> old.closing());
        } finally {
            lock.unlock();
        }
    }

    /** The export with block-export id {@code id}, or null (tests look at its backend). */
    NbdExport export(String id) {
        lock.lock();
        try {
            ExportEntry e = entries.get(id);
            return e == null ? null : e.export();
        } finally {
            lock.unlock();
        }
    }

    /** Exports newest first, as {@code query-block-exports} lists them. */
    List<ExportEntry> exports() {
        lock.lock();
        try {
            List<ExportEntry> l = new ArrayList<>(entries.values());
            Collections.reverse(l);
            return l;
        } finally {
            lock.unlock();
        }
    }

    /** The server's bound address (tests, and a port chosen by the system). */
    java.net.SocketAddress localAddress() {
        lock.lock();
        try {
            return server == null ? null : server.localAddress();
        } finally {
            lock.unlock();
        }
    }

    private void deleted(NbdExport export) {
        boolean mine;
        lock.lock();
        try {
            ExportEntry e = entries.get(export.id());
            mine = e != null && e.export() == export;
            if (mine) {
                entries.remove(export.id());
                graph.release(e.node());
            }
        } finally {
            lock.unlock();
        }
        if (mine) {
            ObjectNode data = Json.object();
            data.put("id", export.id());
            events.emit("BLOCK_EXPORT_DELETED", data);
        }
    }
}
