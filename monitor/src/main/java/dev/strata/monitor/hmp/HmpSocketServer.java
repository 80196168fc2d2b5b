package dev.strata.monitor.hmp;

import dev.strata.monitor.Monitor;
import dev.strata.monitor.transport.UnixServer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * HMP on a unix socket ({@code -monitor unix:PATH,server=on,wait=off}, or QEMU's
 * {@code -chardev socket,...} + {@code -mon}): any number of clients, each an
 * {@link HmpSocketSession} on its own virtual thread.
 */
public final class HmpSocketServer implements AutoCloseable {

    private final UnixServer server;

    private HmpSocketServer(UnixServer server) {
        this.server = server;
    }

    public static HmpSocketServer start(Monitor monitor, Path socket) throws IOException {
        return new HmpSocketServer(UnixServer.start(socket,
                (in, out, hangUp) -> new HmpSocketSession(monitor.hmp(), in, out).run(monitor.events()), "hmp"));
    }

    public Path path() {
        return server.path();
    }

    public int clientCount() {
        return server.clientCount();
    }

    @Override
    public void close() {
        server.close();
    }
}
