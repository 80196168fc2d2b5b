package dev.strata.harness.script;

import dev.strata.monitor.Monitor;
import dev.strata.monitor.qmp.QmpSession;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A QMP client wired to a real {@link QmpSession} through pipes, so scripts exercise exactly
 * what a socket client gets (negotiation, argument checks, error classes) without a socket.
 * One caller at a time (the scenario runner); events on the way to a reply are skipped.
 */
final class InProcessQmp implements AutoCloseable {

    private final OutputStream toServer;
    private final BufferedReader fromServer;
    private final Thread session;

    InProcessQmp(Monitor monitor) {
        try {
            PipedInputStream serverIn = new PipedInputStream(1 << 16);
            toServer = new PipedOutputStream(serverIn);
            PipedInputStream clientIn = new PipedInputStream(1 << 20);
            PipedOutputStream serverOut = new PipedOutputStream(clientIn);
            fromServer = new BufferedReader(new InputStreamReader(clientIn, StandardCharsets.UTF_8));
            QmpSession s = new QmpSession(monitor, serverIn, serverOut, () -> { });
            session = Thread.ofPlatform().daemon().name("scenario-qmp").start(s::run);
            fromServer.readLine(); // greeting
            execute("{\"execute\": \"qmp_capabilities\"}");
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the in-process QMP session: " + e.getMessage());
        }
    }

    /** Sends one command and returns its reply line (events before it are skipped). */
    String execute(String json) {
        try {
            toServer.write((json.strip() + "\n").getBytes(StandardCharsets.UTF_8));
            toServer.flush();
            while (true) {
                String line = fromServer.readLine();
                if (line == null) {
                    throw new IllegalStateException("the QMP session closed");
                }
                if (line.startsWith("{\"return\"") || line.startsWith("{\"error\"")) {
                    return line;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("QMP session failed: " + e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        toServer.close();
        session.interrupt();
    }
}
