package dev.strata.monitor.qmp;

import dev.strata.monitor.Monitor;
import dev.strata.monitor.transport.UnixServer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * QMP on a unix socket ({@code -qmp unix:PATH,server=on,wait=off}): any number of clients at
 * once, each a {@link QmpSession} on its own virtual thread.
 *
 * <p>Start: {@code QmpServer.start(monitor, path)}; close it to stop listening and drop clients.
 */
public final class QmpServer implements AutoCloseable {

    private final UnixServer server;

    private QmpServer(UnixServer server) {
        this.server = server;
    }

    public static QmpServer start(Monitor monitor, Path socket) throws IOException {
        return new QmpServer(UnixServer.start(socket,
                (in, out, hangUp) -> new QmpSession(monitor, in, out, hangUp).run(), "qmp"));
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
