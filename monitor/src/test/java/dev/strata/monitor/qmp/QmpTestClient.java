package dev.strata.monitor.qmp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The tests' QMP client, on a monitor's unix socket (shared with guest-harness through monitor's
 * test jar). JSON stays text, so tests compare the wire format to the byte.
 *
 * <p>Reading is strict: every line must end in {@code \r\n}, as QEMU writes them; a bare
 * {@code \n} fails the next read. A reader thread splits the stream into lines; the test takes
 * them in arrival order ({@link #line}), replies only ({@link #reply}, {@link #call}) or events
 * only ({@link #nextEvent}, {@link #awaitEvent}). A line one kind of take passes over is kept, in
 * order, for the other, so nothing the server sent is lost. Every take waits at most
 * {@link #WAIT} and then fails, so a silent server fails a test instead of hanging it.
 *
 * <p>Threads: one test thread uses a client; the reader thread only fills {@code incoming}.
 * {@code passedOver} and {@code ended} belong to the test thread.
 */
public final class QmpTestClient implements AutoCloseable {

    /** How long a take waits for the server. */
    public static final Duration WAIT = Duration.ofSeconds(30);
    /** Marks the end of the stream in {@code incoming}. */
    private static final Object END = new Object();

    private final SocketChannel ch;
    /** Lines (String), a protocol error (IOException), then {@link #END}. */
    private final BlockingQueue<Object> incoming = new LinkedBlockingQueue<>();
    private final Deque<String> passedOver = new ArrayDeque<>();
    private boolean ended;

    private QmpTestClient(SocketChannel ch) {
        this.ch = ch;
        Thread.ofPlatform().daemon().name("test-qmp-reader").start(this::readLines);
    }

    /** Connects to {@code socket} and reads nothing yet (the greeting is the first {@link #line}). */
    public static QmpTestClient connect(Path socket) throws IOException, InterruptedException {
        return new QmpTestClient(socketWhenListening(socket));
    }

    /**
     * A connected channel to any monitor socket (QMP or HMP). The socket file appears at bind, a
     * moment before the server listens: retries for up to ten seconds.
     */
    public static SocketChannel socketWhenListening(Path socket) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                return c;
            } catch (IOException e) {
                c.close();
                if (attempt > 500) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    /** Connects, reads the greeting and negotiates: {@code qmp_capabilities} must return {@code {}}. */
    public static QmpTestClient negotiate(Path socket) throws IOException, InterruptedException {
        QmpTestClient c = connect(socket);
        String greeting = c.line();
        if (greeting == null || !greeting.startsWith("{\"QMP\": ")) {
            c.close();
            throw new IOException("no QMP greeting: " + greeting);
        }
        String r = c.call("{\"execute\": \"qmp_capabilities\"}");
        if (!"{\"return\": {}}".equals(r)) {
            c.close();
            throw new IOException("qmp_capabilities: " + r);
        }
        return c;
    }

    /** Whether {@code line} is an event (events start with their timestamp). */
    public static boolean isEvent(String line) {
        return line.startsWith("{\"timestamp\"");
    }

    /** Sends {@code text} as it is (no newline added): partial documents, garbage, batches. */
    public void send(String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Ends the input (half-close): the server answers what it has, then closes the connection. */
    public void endInput() throws IOException {
        ch.shutdownOutput();
    }

    /** Sends {@code json} and a newline, and returns the next reply (not an event). */
    public String call(String json) throws IOException, InterruptedException {
        send(json + "\n");
        return reply();
    }

    /** The next line without its {@code \r\n}, event or not; null at the end of the stream. */
    public String line() throws IOException, InterruptedException {
        return take(l -> true);
    }

    /** The next line that is not an event; null at the end of the stream. */
    public String reply() throws IOException, InterruptedException {
        return take(l -> !isEvent(l));
    }

    /** The next event; fails if the stream ends first. */
    public String nextEvent() throws IOException, InterruptedException {
        String e = take(QmpTestClient::isEvent);
        if (e == null) {
            throw new IOException("QMP: the connection closed while waiting for an event");
        }
        return e;
    }

    /** Skips events until one that contains every one of {@code parts}, and returns it. */
    public String awaitEvent(String... parts) throws IOException, InterruptedException {
        while (true) {
            String e = nextEvent();
            boolean all = true;
            for (String p : parts) {
                all &= e.contains(p);
            }
            if (all) {
                return e;
            }
        }
    }

    private String take(Predicate<String> wanted) throws IOException, InterruptedException {
        for (Iterator<String> it = passedOver.iterator(); it.hasNext(); ) {
            String l = it.next();
            if (wanted.test(l)) {
                it.remove();
                return l;
            }
        }
        while (!ended) {
            Object o = incoming.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (o == null) {
                throw new IOException("QMP: nothing from the server within " + WAIT);
            }
            if (o == END) {
                ended = true;
            } else if (o instanceof IOException e) {
                ended = true;
                throw e;
            } else if (wanted.test((String) o)) {
                return (String) o;
            } else {
                passedOver.add((String) o);
            }
        }
        return null;
    }

    /** The reader thread: whole lines into {@code incoming}; a line without {@code \r} ends the stream with an error. */
    private void readLines() {
        ByteArrayOutputStream partial = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(65536);
        try {
            while (ch.read(b.clear()) >= 0) {
                for (int i = 0; i < b.position(); i++) {
                    byte c = b.get(i);
                    if (c != '\n') {
                        partial.write(c);
                        continue;
                    }
                    byte[] l = partial.toByteArray();
                    partial.reset();
                    if (l.length == 0 || l[l.length - 1] != '\r') {
                        incoming.add(new IOException("line without \\r: " + new String(l, StandardCharsets.UTF_8)));
                        return;
                    }
                    incoming.add(new String(l, 0, l.length - 1, StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            // closed by close(), or the server hung up: the end of the stream
        } finally {
            incoming.add(END);
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
