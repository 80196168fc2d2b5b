package dev.strata.monitor.qmp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/** A raw test client: sends bytes, reads \r\n-terminated lines (blocking; tests put @Timeout on). */
final class QmpClient implements AutoCloseable {

    private final SocketChannel ch;
    private final Deque<String> lines = new ArrayDeque<>();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    QmpClient(Path socket) throws IOException {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
    }

    void send(String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Next line without its \r\n; null at end of stream. Fails if a line ends in a bare \n. */
    String line() throws IOException {
        while (lines.isEmpty()) {
            ByteBuffer b = ByteBuffer.allocate(65536);
            int n = ch.read(b);
            if (n < 0) {
                return null;
            }
            byte[] a = b.array();
            for (int i = 0; i < n; i++) {
                partial.write(a[i]);
                byte[] p = partial.toByteArray();
                int len = p.length;
                if (len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n') {
                    lines.add(new String(p, 0, len - 2, StandardCharsets.UTF_8));
                    partial.reset();
                } else if (p[len - 1] == '\n') {
                    throw new IOException("line without \\r: " + new String(p, StandardCharsets.UTF_8));
                }
            }
        }
        return lines.poll();
    }

    /** Sends one command line and returns the next line that is not an event. */
    String cmd(String json) throws IOException {
        send(json + "\n");
        return reply();
    }

    String reply() throws IOException {
        while (true) {
            String l = line();
            if (l == null || !l.startsWith("{\"timestamp\"")) {
                return l;
            }
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
