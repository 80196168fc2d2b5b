package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD server: listens on one address and serves {@link NbdExport}s to any number of clients
 * (QEMU's {@code nbd-server-start} plus its exports, or one {@code qemu-nbd}).
 *
 * <p>Threads: a virtual thread accepts; each connection has a virtual reader thread and one virtual
 * thread per request in flight. Public methods may be called from any thread (the monitor's);
 * {@code lock} guards {@code exports}, {@code clients} and {@code closed}.
 */
public final class NbdServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
    /** A client that has not chosen an export by then is disconnected (QEMU's handshake limit). */
    static final long HANDSHAKE_LIMIT_MS = 10_000;
    /** Send buffer asked for on accepted unix sockets (see {@link #tuneAccepted}). */
    static final int UNIX_SEND_BUFFER = 4 << 20;
    /**
     * How long a safe-mode removal waits for connected clients to leave before it refuses. A
     * client that has just hung up is still attached until its reader thread has seen the end of
     * the stream; without the wait, {@code block-export-del} right after {@code nbdinfo} exits
     * could answer {@code still in use}. A client that stays connected gets the refusal after it.
     */
    static final long SAFE_REMOVE_GRACE_MS = 1_000;

    private final NbdListenAddress address;
    private final NbdServerOptions options;
    private final ServerSocketChannel listener;
    private final Semaphore connectionSlots;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled (under {@code lock}) whenever a client detaches from an export. */
    private final Condition clientLeft = lock.newCondition();
    private final Map<String, NbdExport> exports = new LinkedHashMap<>();
    /** Connections per export, including exports already removed whose clients are still leaving. */
    private final Map<NbdExport, Set<NbdConnection>> clients = new LinkedHashMap<>();
    private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
    private final List<NbdExportListener> listeners = new CopyOnWriteArrayList<>();
    private final List<NbdConnectionListener> connectionListeners = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private final BufferPool buffers = new BufferPool();
    /** Failures that were not the client's fault (a bug or the host); tests insist on none. */
    private final java.util.concurrent.atomic.LongAdder internalErrors = new java.util.concurrent.atomic.LongAdder();
    private boolean closed;

    private NbdServer(NbdListenAddress address, NbdServerOptions options, ServerSocketChannel listener) {
        this.address = address;
        this.options = options;
        this.listener = listener;
        this.connectionSlots = options.maxConnections() > 0 ? new Semaphore(options.maxConnections()) : null;
        this.acceptor = Thread.ofVirtual().name("nbd-accept " + address).unstarted(this::acceptLoop);
    }

    /**
     * Binds {@code address} and starts accepting clients.
     *
     * @throws BlockException (kind IO) when the address cannot be bound, with the system's reason
     */
    public static NbdServer start(NbdListenAddress address, NbdServerOptions options) {
        ServerSocketChannel ch;
        try {
            ch = switch (address) {
                case NbdListenAddress.Unix u -> NbdListenSockets.bindUnix(u.path());
                case NbdListenAddress.Inet i -> NbdListenSockets.bindInet(i);
            };
        } catch (IOException e) {
            // QEMU 7.2's words (qemu-nbd -k / -p, nbd-server-start)
            String msg = address instanceof NbdListenAddress.Unix u ? "Failed to bind socket to " + u.path() + ": " + NbdListenSockets.reason(e)
                    : e instanceof java.net.BindException ? "Failed to find an available port: " + NbdListenSockets.reason(e)
                    : "Failed to bind socket: " + NbdListenSockets.reason(e);
            throw new BlockException(BlockException.Kind.IO, msg, e);
        }
        NbdServer s = new NbdServer(address, options, ch);
        s.acceptor.start();
        LOG.info("nbd: server listening on {}", s.describeLocal());
        return s;
    }

    /** The address given to {@link #start}. */
    public NbdListenAddress address() {
        return address;
    }

    public NbdServerOptions options() {
        return options;
    }

    /** The bound address: the actual port when 0 was asked for, or the unix path. */
    public SocketAddress localAddress() {
        try {
            SocketAddress a = listener.getLocalAddress();
            return address instanceof NbdListenAddress.Unix u ? UnixDomainSocketAddress.of(u.path()) : a;
        } catch (IOException e) {
            throw new BlockException(BlockException.Kind.IO, "NBD server is closed", e);
        }
    }

    private String describeLocal() {
        return address instanceof NbdListenAddress.Unix u ? "unix:" + u.path() : String.valueOf(localAddress());
    }

    // ---- exports -------------------------------------------------------------------------------

    /**
     * Makes {@code export} available to new clients.
     *
     * @throws BlockException (INVALID_ARGUMENT) when its name or id is already served, or the server is stopped
     */
    public void addExport(NbdExport export) {
        lock.lock();
        try {
            if (closed) {
                throw BlockException.invalid("NBD server not running");
            }
            if (exports.containsKey(export.name())) {
                throw BlockException.invalid("NBD server already has export named '" + export.name() + "'");
            }
            for (NbdExport e : exports.values()) {
                if (e.id().equals(export.id())) {
                    throw BlockException.invalid("Block export id '" + export.id() + "' is already in use");
                }
            }
            exports.put(export.name(), export);
            clients.putIfAbsent(export, ConcurrentHashMap.newKeySet());
        } finally {
            lock.unlock();
        }
        LOG.info("nbd: export '{}' added ({})", export.name(), export);
    }

    /**
     * Withdraws the export called {@code name}. New clients no longer find it at once;
     * {@link NbdExportListener}s hear of it when its last client has gone. SAFE mode first waits
     * up to {@link #SAFE_REMOVE_GRACE_MS} for connected clients to leave (woken by each detach,
     * so a client that has just hung up does not make it fail).
     *
     * @throws BlockException NOT_FOUND when no export has that name; BUSY in SAFE mode while
     *                        clients are still connected after the wait (the export then stays)
     */
    public void removeExport(String name, NbdRemoveMode mode) {
        NbdExport export;
        List<NbdConnection> users;
        boolean finished;
        lock.lock();
        try {
            export = exports.get(name);
            if (export == null) {
                throw new BlockException(BlockException.Kind.NOT_FOUND, "Export '" + name + "' is not found");
            }
            if (mode == NbdRemoveMode.SAFE) {
                awaitNoClients(export, name);
            }
            users = new ArrayList<>(clients.getOrDefault(export, Set.of()));
            exports.remove(name);
            finished = claimFinished(export);
        } finally {
            lock.unlock();
        }
        LOG.info("nbd: export '{}' removed ({} mode, {} client(s) connected)", name, mode.name().toLowerCase(), users.size());
        for (NbdConnection c : users) {
            c.disconnect("export removed", true);
        }
        if (finished) {
            announceDeleted(export);
        }
    }

    /** Lock held: waits until {@code export} has no client, or refuses (QEMU's words) when the grace runs out. */
    private void awaitNoClients(NbdExport export, String name) {
        long left = TimeUnit.MILLISECONDS.toNanos(SAFE_REMOVE_GRACE_MS);
        try {
            while (!clients.getOrDefault(export, Set.of()).isEmpty()) {
                if (left <= 0) {
                    throw new BlockException(BlockException.Kind.BUSY, "export '" + name + "' still in use");
                }
                left = clientLeft.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BlockException(BlockException.Kind.BUSY, "export '" + name + "' still in use");
        }
        if (exports.get(name) != export) {
            // removed by someone else while this one waited
            throw new BlockException(BlockException.Kind.NOT_FOUND, "Export '" + name + "' is not found");
        }
    }

    /** The export called {@code name}, or null. */
    public NbdExport export(String name) {
        lock.lock();
        try {
            return exports.get(name);
        } finally {
            lock.unlock();
        }
    }

    /** The exports being served, in the order they were added. */
    public List<NbdExport> exports() {
        lock.lock();
        try {
            return List.copyOf(exports.values());
        } finally {
            lock.unlock();
        }
    }

    /** Clients attached to {@code export}: from just before their final negotiation reply until they leave. */
    public int clientCount(NbdExport export) {
        lock.lock();
        try {
            return clients.getOrDefault(export, Set.of()).size();
        } finally {
            lock.unlock();
        }
    }

    /** Connections open now, negotiating or transmitting. */
    public int connectionCount() {
        return connections.size();
    }

    public void addExportListener(NbdExportListener l) {
        listeners.add(l);
    }

    public void removeExportListener(NbdExportListener l) {
        listeners.remove(l);
    }

    public void addConnectionListener(NbdConnectionListener l) {
        connectionListeners.add(l);
    }

    public void removeConnectionListener(NbdConnectionListener l) {
        connectionListeners.remove(l);
    }

    /** Calls {@code event} on every connection listener; a failing listener is logged and skipped. */
    private void tell(java.util.function.Consumer<NbdConnectionListener> event) {
        for (NbdConnectionListener l : connectionListeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                LOG.warn("nbd: connection listener failed: {}", e.toString());
            }
        }
    }

    /** The accepted sockets open now, for tests that read their options back. */
    List<SocketChannel> acceptedChannels() {
        return connections.stream().map(c -> c.channel).toList();
    }

    /**
     * Stops listening, disconnects every client and removes every export (listeners hear of each).
     * Idempotent. The unix socket file is deleted.
     */
    public void stop() {
        List<NbdExport> all;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            all = List.copyOf(exports.values());
        } finally {
            lock.unlock();
        }
        try {
            listener.close();
        } catch (IOException ignored) {
            // the acceptor ends either way
        }
        acceptor.interrupt();
        if (address instanceof NbdListenAddress.Unix u) {
            try {
                Files.deleteIfExists(u.path());
            } catch (IOException e) {
                LOG.warn("nbd: could not remove socket {}: {}", u.path(), NbdListenSockets.reason(e));
            }
        }
        for (NbdExport e : all) {
            removeExport(e.name(), NbdRemoveMode.HARD);
        }
        for (NbdConnection c : List.copyOf(connections)) {
            c.disconnect("server stopped", true);
        }
        LOG.info("nbd: server on {} stopped", address);
    }

    @Override
    public void close() {
        stop();
    }

    // ---- used by connections ---------------------------------------------------------------------

    void internalError() {
        internalErrors.increment();
    }

    long internalErrors() {
        return internalErrors.sum();
    }

    BufferPool buffers() {
        return buffers;
    }

    NbdTlsConfig tls() {
        return options.tls();
    }

    /** Attaches a negotiated connection to its export; false when the export was removed meanwhile. */
    boolean attach(NbdExport export, NbdConnection c) {
        lock.lock();
        try {
            if (closed || exports.get(export.name()) != export) {
                return false;
            }
            clients.get(export).add(c);
        } finally {
            lock.unlock();
        }
        tell(l -> l.clientAttached(export));
        return true;
    }

    void detach(NbdExport export, NbdConnection c) {
        boolean finished;
        lock.lock();
        try {
            Set<NbdConnection> set = clients.get(export);
            if (set != null) {
                set.remove(c);
            }
            finished = claimFinished(export);
            clientLeft.signalAll();
        } finally {
            lock.unlock();
        }
        tell(l -> l.clientDetached(export));
        if (finished) {
            announceDeleted(export);
        }
    }

    /**
     * Lock held: true exactly once, for whoever sees {@code export} removed and without clients;
     * deciding under the same lock as the change that made it so (a detach, or the removal itself)
     * means a removal that finds no client announces the export before it returns.
     */
    private boolean claimFinished(NbdExport export) {
        if (exports.get(export.name()) == export) {
            return false;
        }
        Set<NbdConnection> set = clients.get(export);
        if (set == null || !set.isEmpty()) {
            return false;
        }
        clients.remove(export);
        return true;
    }

    private void announceDeleted(NbdExport export) {
        for (NbdExportListener l : listeners) {
            try {
                l.exportDeleted(export);
            } catch (RuntimeException e) {
                LOG.warn("nbd: export listener failed for '{}': {}", export.name(), e.toString());
            }
        }
    }

    void connectionEnded(NbdConnection c) {
        if (!connections.remove(c)) {
            return;
        }
        if (connectionSlots != null) {
            connectionSlots.release();
        }
        int open = connections.size();
        tell(l -> l.connectionClosed(open));
    }

    private void acceptLoop() {
        while (true) {
            try {
                if (connectionSlots != null) {
                    connectionSlots.acquire();
                }
                SocketChannel ch;
                try {
                    ch = listener.accept();
                } catch (IOException e) {
                    if (connectionSlots != null) {
                        connectionSlots.release();
                    }
                    throw e;
                }
                String peer = describePeer(ch);
                tuneAccepted(ch);
                NbdConnection c = new NbdConnection(this, ch, peer);
                connections.add(c);
                lock.lock();
                boolean stopped;
                try {
                    stopped = closed;
                } finally {
                    lock.unlock();
                }
                if (stopped) {
                    c.disconnect("server stopped", true);
                }
                Thread.ofVirtual().name("nbd " + peer).start(c::run);
            } catch (ClosedChannelException | InterruptedException e) {
                return;
            } catch (IOException e) {
                if (!listener.isOpen()) {
                    return;
                }
                LOG.warn("nbd: accept on {} failed: {}", address, NbdListenSockets.reason(e));
            }
        }
    }

    /**
     * Socket options of an accepted client. TCP: {@code TCP_NODELAY}, so a small reply is not held
     * back waiting for the client's ACK (QEMU 7.2 leaves Nagle on). Unix: a send buffer of
     * {@link #UNIX_SEND_BUFFER} (the kernel caps it at {@code net.core.wmem_max}); with the
     * default 208 KiB a 256 KiB read reply ({@code nbdcopy}'s size) never fits, so every such
     * reply parked its thread on the poller halfway through and was finished by another wake-up.
     */
    private void tuneAccepted(SocketChannel ch) throws IOException {
        if (address instanceof NbdListenAddress.Inet) {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        } else {
            try {
                ch.setOption(StandardSocketOptions.SO_SNDBUF, UNIX_SEND_BUFFER);
            } catch (IOException | UnsupportedOperationException e) {
                LOG.debug("nbd: could not enlarge the send buffer: {}", e.toString());
            }
        }
    }

    private String describePeer(SocketChannel ch) {
        try {
            SocketAddress a = ch.getRemoteAddress();
            if (a instanceof InetSocketAddress i) {
                return i.getAddress().getHostAddress() + ":" + i.getPort();
            }
        } catch (IOException ignored) {
            // the peer's name is only for log lines
        }
        String where = address instanceof NbdListenAddress.Unix u ? "unix:" + u.path().getFileName() : "tcp";
        return where + "#" + Integer.toHexString(System.identityHashCode(ch));
    }

    static Logger log() {
        return LOG;
    }
}
