package dev.strata.harness.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Test clients on a machine's real monitor sockets: a QMP client whose events queue apart from its
 * replies (so a test can act the moment an event arrives, as a script does), and an HMP client that
 * sends one line and returns what the monitor printed before its next prompt. Test thread only,
 * plus one reader thread per QMP client.
 */
final class WireMonitors {

    static final Duration WAIT = Duration.ofSeconds(30);

    private WireMonitors() {
    }

    private static SocketChannel connect(Path socket) throws IOException, InterruptedException {
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

    /** QMP: {@link #call} returns the reply line; events wait in order in {@link #nextEvent}. */
    static final class Qmp implements AutoCloseable {
        private final SocketChannel ch;
        private final OutputStream out;
        private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        private final BlockingQueue<String> events = new LinkedBlockingQueue<>();

        Qmp(Path socket) throws IOException, InterruptedException {
            ch = connect(socket);
            out = Channels.newOutputStream(ch);
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            Thread.ofPlatform().daemon().name("test-qmp-reader").start(() -> {
                try {
                    String l;
                    while ((l = in.readLine()) != null) {
                        (l.startsWith("{\"timestamp\"") ? events : replies).add(l);
                    }
                } catch (IOException e) {
                    // closed
                }
            });
            take(replies, "greeting");
            String r = call("{\"execute\": \"qmp_capabilities\"}");
            if (!r.equals("{\"return\": {}}")) {
                throw new IOException("qmp_capabilities: " + r);
            }
        }

        String call(String json) throws IOException, InterruptedException {
            out.write((json + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return take(replies, json);
        }

        /** The next event, whatever it is. */
        String nextEvent() throws IOException, InterruptedException {
            return take(events, "an event");
        }

        /** Skips events until one that contains every one of {@code parts}, and returns it. */
        String awaitEvent(String... parts) throws IOException, InterruptedException {
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

        private static String take(BlockingQueue<String> q, String what) throws IOException, InterruptedException {
            String s = q.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (s == null) {
                throw new IOException("QMP: nothing within " + WAIT + " waiting for " + what);
            }
            return s;
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    /** HMP on a unix socket: {@link #run} returns the command's output (lines joined by \n, no prompt). */
    static final class Hmp implements AutoCloseable {
        private static final String PROMPT = "(qemu) ";
        private final SocketChannel ch;
        private final InputStream in;
        private final OutputStream out;

        Hmp(Path socket) throws IOException, InterruptedException {
            ch = connect(socket);
            in = Channels.newInputStream(ch);
            out = Channels.newOutputStream(ch);
            readToPrompt();
        }

        String run(String line) throws IOException {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String text = readToPrompt();
            int eol = text.indexOf("\r\n");
            String body = eol < 0 ? "" : text.substring(eol + 2);
            return body.replace("\r\n", "\n").strip();
        }

        private String readToPrompt() throws IOException {
            StringBuilder b = new StringBuilder();
            int c;
            while (!(b.length() >= PROMPT.length() && b.substring(b.length() - PROMPT.length()).equals(PROMPT))) {
                if ((c = in.read()) < 0) {
                    throw new IOException("HMP closed after: " + b);
                }
                b.append((char) c);
            }
            return b.substring(0, b.length() - PROMPT.length());
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
