package dev.strata.harness.torture;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A small QMP client on a unix socket for torture and load programs: one reader thread sorts the
 * server's lines into replies (in order) and events (kept, newest last). JSON is handled as text:
 * the harness may not depend on a JSON library (module boundaries), and the few fields it needs
 * are found with {@link #field}.
 *
 * <p>Thread safety: {@link #call} may be used from several threads; {@code callLock} keeps each
 * command paired with its reply. Events are a concurrent list.
 */
public final class QmpLink implements AutoCloseable {

    private final SocketChannel ch;
    private final OutputStream out;
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final ReentrantLock callLock = new ReentrantLock();
    private final Thread reader;
    private volatile boolean closed;

    private QmpLink(SocketChannel ch) {
        this.ch = ch;
        this.out = Channels.newOutputStream(ch);
        BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
        this.reader = Thread.ofPlatform().daemon().name("qmp-link-reader").start(() -> {
            try {
                String l;
                while ((l = in.readLine()) != null) {
                    if (l.startsWith("{\"timestamp\"") || l.contains("\"event\":")) {
                        events.add(l);
                    } else {
                        replies.add(l);
                    }
                }
            } catch (IOException e) {
                // the server went away (killed): callers see a timeout or closed link
            }
            replies.add("");
        });
    }

    /**
     * Connects to {@code socket} (retrying until it listens, up to {@code timeout}), reads the
     * greeting and negotiates capabilities.
     */
    public static QmpLink connect(Path socket, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                QmpLink q = new QmpLink(c);
                String greeting = q.next(timeout);
                if (greeting == null || !greeting.startsWith("{\"QMP\"")) {
                    q.close();
                    throw new IOException("QMP: no greeting on " + socket + " (got " + greeting + ")");
                }
                String r = q.call("{\"execute\": \"qmp_capabilities\"}", timeout);
                if (!r.startsWith("{\"return\"")) {
                    q.close();
                    throw new IOException("QMP: qmp_capabilities refused: " + r);
                }
                return q;
            } catch (IOException e) {
                c.close();
                if (System.nanoTime() > deadline || e.getMessage() != null && e.getMessage().startsWith("QMP:")) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    private String next(Duration timeout) throws InterruptedException {
        return replies.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Sends one command and returns its reply line ({@code {"return": ...}} or {@code {"error": ...}}).
     *
     * @throws IOException when the link is closed or no reply came within {@code timeout}
     */
    public String call(String json, Duration timeout) throws IOException, InterruptedException {
        callLock.lock();
        try {
            if (closed) {
                throw new IOException("QMP link closed");
            }
            out.write((json + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String r = next(timeout);
            if (r == null || r.isEmpty()) {
                if (r != null) {
                    replies.add(""); // keep the end-of-stream marker for later callers
                }
                throw new IOException("QMP: no reply to " + json + (r == null ? " within " + timeout : " (connection closed)"));
            }
            return r;
        } finally {
            callLock.unlock();
        }
    }

    /** The events received so far, oldest first. */
    public List<String> events() {
        return List.copyOf(events);
    }

    /** True once an event named {@code name} was received. */
    public boolean sawEvent(String name) {
        String key = "\"event\": \"" + name + "\"";
        return events.stream().anyMatch(e -> e.contains(key));
    }

    /** The value of the first {@code "name": value} in {@code json} (string quotes removed), or null. */
    public static String field(String json, String name) {
        String key = "\"" + name + "\": ";
        int at = json.indexOf(key);
        if (at < 0) {
            return null;
        }
        int v = at + key.length();
        if (v < json.length() && json.charAt(v) == '"') {
            int end = json.indexOf('"', v + 1);
            return end < 0 ? null : json.substring(v + 1, end);
        }
        int end = v;
        while (end < json.length() && ",}]".indexOf(json.charAt(end)) < 0) {
            end++;
        }
        return json.substring(v, end).trim();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        ch.close();
        try {
            reader.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
