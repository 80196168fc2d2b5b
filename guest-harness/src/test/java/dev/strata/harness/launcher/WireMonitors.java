package dev.strata.harness.launcher;

import dev.strata.monitor.qmp.QmpTestClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The HMP side of a machine's real monitor sockets, for tests: an HMP client that sends one line
 * and returns what the monitor printed before its next prompt. (The QMP side is monitor's
 * {@code QmpTestClient}.) Test thread only.
 */
final class WireMonitors {

    private WireMonitors() {
    }

    /** HMP on a unix socket: {@link #run} returns the command's output (lines joined by \n, no prompt). */
    static final class Hmp implements AutoCloseable {
        private static final String PROMPT = "(qemu) ";
        private final SocketChannel ch;
        private final InputStream in;
        private final OutputStream out;

        Hmp(Path socket) throws IOException, InterruptedException {
            ch = QmpTestClient.socketWhenListening(socket);
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
