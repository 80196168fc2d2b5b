package dev.strata.monitor.hmp;

import dev.strata.monitor.EventBus;
import dev.strata.monitor.QmpEvent;
import dev.strata.monitor.Version;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One HMP client on a socket: QEMU's banner and {@code (qemu) } prompt, every output line ended
 * by {@code \r\n}. Each typed line is echoed back before its output (QEMU's readline echoes
 * too, there with cursor escapes), so scripts written for QEMU that skip up to the first
 * {@code \r\n} after their command work unchanged. CR, LF and CRLF each end one line.
 *
 * <p>Threads: {@link #run} is the connection's reader; asynchronous text arrives from any
 * thread. Writes are serialised by {@code writeLock}.
 */
public final class HmpSocketSession implements EventBus.Listener {

    /** QEMU's readline keeps at most this many characters of a line. */
    static final int MAX_LINE = 4095;
    static final String BANNER = "QEMU " + Version.qemu() + " monitor - type 'help' for more information";
    static final String PROMPT = "(qemu) ";

    private final HmpInterpreter hmp;
    private final InputStream in;
    private final OutputStream out;
    private final ReentrantLock writeLock = new ReentrantLock();
    private volatile boolean done;

    public HmpSocketSession(HmpInterpreter hmp, InputStream in, OutputStream out) {
        this.hmp = hmp;
        this.in = in;
        this.out = out;
    }

    /** Serves until end of input, a write failure, or {@code quit}. Never throws. */
    public void run(EventBus events) {
        try (AutoCloseable sub = events.subscribe(this)) {
            write(BANNER + "\r\n" + PROMPT);
            StringBuilder line = new StringBuilder();
            boolean lastWasCr = false;
            byte[] buf = new byte[4096];
            java.io.ByteArrayOutputStream raw = new java.io.ByteArrayOutputStream();
            int n;
            while (!done && (n = in.read(buf)) >= 0) {
                for (int i = 0; i < n && !done; i++) {
                    byte b = buf[i];
                    if (b == '\n' && lastWasCr) {
                        lastWasCr = false;
                        continue;
                    }
                    lastWasCr = b == '\r';
                    if (b == '\r' || b == '\n') {
                        String text = raw.toString(StandardCharsets.UTF_8);
                        raw.reset();
                        line.setLength(0);
                        line.append(text, 0, Math.min(text.length(), MAX_LINE));
                        handle(line.toString());
                    } else if (raw.size() < MAX_LINE * 4) {
                        raw.write(b);
                    }
                }
            }
        } catch (Exception e) {
            // the client went away; the machine is not affected
        }
    }

    private void handle(String line) throws IOException {
        HmpInterpreter.Result r = hmp.execute(line);
        write(line + "\r\n" + r.output().replace("\n", "\r\n"));
        if (r.context().sessionEnds()) {
            done = true;
            r.context().runAfterReply();
            return;
        }
        r.context().runAfterReply();
        write(PROMPT);
    }

    @Override
    public void event(QmpEvent event) {
        // HMP does not show QMP events
    }

    @Override
    public void asyncText(String text) {
        try {
            write(text.replace("\n", "\r\n") + "\r\n");
        } catch (IOException e) {
            done = true;
        }
    }

    private void write(String s) throws IOException {
        writeLock.lock();
        try {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } finally {
            writeLock.unlock();
        }
    }
}
