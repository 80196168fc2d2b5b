package dev.strata.monitor.transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A listening AF_UNIX socket (the JDK's own channels) that hands every connection to a handler
 * on its own virtual thread: QEMU's {@code unix:PATH,server=on,wait=off} chardev. The socket
 * file is replaced if it exists and made mode 0600 right after bind, and removed on close.
 *
 * <p>Threads: one platform thread accepts; one per connection runs the handler. Platform, not
 * virtual: a guest keeping every virtual-thread carrier busy would otherwise queue monitor
 * commands behind its I/O (QEMU's monitor likewise runs in the main loop, not in the iothread).
 * {@code clients} is a concurrent set so {@link #close} can end them all.
 */
public final class UnixServer implements AutoCloseable {

    /** Serves one connection; returns when it is over. Must not throw. */
    @FunctionalInterface
    public interface Handler {
        void serve(InputStream in, OutputStream out, Runnable hangUp);
    }

    private final Path path;
    private final ServerSocketChannel server;
    private final Set<SocketChannel> clients = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private UnixServer(Path path, ServerSocketChannel server, Handler handler, String name) {
        this.path = path;
        this.server = server;
        this.acceptor = Thread.ofPlatform().daemon().name(name + "-accept").start(() -> acceptLoop(handler, name));
    }

    /** Binds {@code path} and starts accepting. */
    public static UnixServer start(Path path, Handler handler, String name) throws IOException {
        Files.deleteIfExists(path);
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return new UnixServer(path, s, handler, name);
    }

    private void acceptLoop(Handler handler, String name) {
        while (!closed) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            clients.add(c);
            Thread.ofPlatform().daemon().name(name + "-client").start(() -> {
                Runnable hangUp = () -> closeQuietly(c);
                try {
                    handler.serve(Channels.newInputStream(c), Channels.newOutputStream(c), hangUp);
                } catch (RuntimeException e) {
                    // a handler bug ends this connection only
                } finally {
                    closeQuietly(c);
                    clients.remove(c);
                }
            });
        }
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // already gone
        }
    }

    public Path path() {
        return path;
    }

    /** Connections open now. */
    public int clientCount() {
        return clients.size();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing a listening socket fails only if already closed
        }
        for (SocketChannel c : clients) {
            closeQuietly(c);
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // a leftover socket file is replaced on the next start
        }
        try {
            acceptor.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
