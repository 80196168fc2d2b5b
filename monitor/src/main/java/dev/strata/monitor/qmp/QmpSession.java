package dev.strata.monitor.qmp;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.ErrorClass;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.QmpEvent;
import dev.strata.monitor.Version;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One QMP client: greeting, capabilities negotiation, then one command at a time, replies and
 * events interleaved on the wire as one JSON document per {@code \r\n}-terminated line.
 *
 * <p>Threads: {@link #run} is the connection's reader (a virtual thread); a second virtual thread
 * drains {@code outbox} to the socket, so an event emitted from any machine thread only queues.
 * A client whose outbox overflows, or whose socket fails, is dropped; nothing it does reaches the
 * machine beyond the commands it sends. {@code negotiated} and {@code oob} are touched by the
 * reader thread only.
 */
public final class QmpSession implements EventBus.Listener {

    /** Largest JSON document accepted (QEMU allows 64 MiB; no real command comes near 1 MiB). */
    public static final int MAX_MESSAGE = 1 << 20;
    /** Replies and events queued for a client that does not read; beyond this it is dropped. */
    static final int MAX_QUEUED = 10_000;

    private static final ObjectMapper LENIENT = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
            .enable(JsonReadFeature.ALLOW_UNESCAPED_CONTROL_CHARS)
            .build();
    private static final String POISON = "";

    private final Monitor monitor;
    private final InputStream in;
    private final OutputStream out;
    private final Runnable onClose;
    private final BlockingQueue<String> outbox = new LinkedBlockingQueue<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private boolean negotiated;
    private boolean oob;
    private volatile AutoCloseable subscription;

    public QmpSession(Monitor monitor, InputStream in, OutputStream out, Runnable onClose) {
        this.monitor = monitor;
        this.in = in;
        this.out = out;
        this.onClose = onClose;
    }

    /** Serves the client until it disconnects or quit is done. Never throws. */
    public void run() {
        Thread writer = Thread.ofPlatform().daemon().name("qmp-writer").start(this::drain);
        try {
            send(greeting());
            Reader r = new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE));
            List<JsonStreamer.Piece> pieces = new ArrayList<>();
            JsonStreamer streamer = new JsonStreamer(MAX_MESSAGE, pieces::add);
            char[] buf = new char[8192];
            int n;
            while (!closed.get() && (n = r.read(buf)) >= 0) {
                for (int i = 0; i < n; i++) {
                    streamer.feed(buf[i]);
                    if (!pieces.isEmpty()) {
                        List<JsonStreamer.Piece> now = List.copyOf(pieces);
                        pieces.clear();
                        for (JsonStreamer.Piece p : now) {
                            handle(p);
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // the client vanished or sent something unreadable: only this session ends
        } finally {
            close();
            try {
                writer.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static ObjectNode greeting() {
        ObjectNode g = Json.object();
        ObjectNode qmp = g.putObject("QMP");
        ObjectNode v = qmp.putObject("version");
        ObjectNode q = v.putObject("qemu");
        q.put("major", Version.MAJOR);
        q.put("minor", Version.MINOR);
        q.put("micro", Version.MICRO);
        v.put("package", Version.PACKAGE);
        qmp.putArray("capabilities").add("oob");
        return g;
    }

    private void handle(JsonStreamer.Piece piece) {
        if (piece instanceof JsonStreamer.Error e) {
            send(error(new CommandException(ErrorClass.GenericError, e.desc()), null));
            return;
        }
        JsonNode req;
        try {
            req = LENIENT.readTree(((JsonStreamer.Value) piece).text());
        } catch (IOException e) {
            send(error(CommandException.generic("JSON parse error, expecting value"), null));
            return;
        }
        if (req == null || !req.isObject()) {
            send(error(CommandException.generic("QMP input must be a JSON object"), null));
            return;
        }
        JsonNode id = req.get("id");
        CommandContext ctx = new CommandContext(monitor.machine(), monitor.registry(), monitor.events(), new StringBuilder());
        ObjectNode reply;
        try {
            reply = dispatch((ObjectNode) req, ctx);
        } catch (CommandException e) {
            reply = error(e, id);
        } catch (RuntimeException | StackOverflowError e) {
            reply = error(CommandException.generic("Internal error: " + e), id);
        }
        send(reply);
        try {
            ctx.runAfterReply();
        } catch (RuntimeException e) {
            // e.g. quit failing to flush: the machine reports that itself
        }
        if (ctx.sessionEnds()) {
            close();
        }
    }

    /** QEMU's {@code qmp_dispatch_check_obj} (members checked in QDict order) and dispatch. */
    private ObjectNode dispatch(ObjectNode req, CommandContext ctx) {
        List<String> keys = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = req.fields();
        while (it.hasNext()) {
            keys.add(it.next().getKey());
        }
        keys.sort((a, b) -> Integer.compare(QmpJson.bucket(a), QmpJson.bucket(b)));
        String command = null;
        boolean isOob = false;
        for (String k : keys) {
            JsonNode v = req.get(k);
            if (k.equals("execute") || (k.equals("exec-oob") && oob)) {
                if (!v.isTextual()) {
                    throw CommandException.generic("QMP input member '" + k + "' must be a string");
                }
                if (command != null) {
                    throw CommandException.generic("QMP input member 'execute' and 'exec-oob' are mutually exclusive");
                }
                command = v.asText();
                isOob = k.equals("exec-oob");
            } else if (k.equals("arguments")) {
                if (!v.isObject()) {
                    throw CommandException.generic("QMP input member 'arguments' must be an object");
                }
            } else if (!k.equals("id")) {
                throw CommandException.generic("QMP input member '" + k + "' is unexpected");
            }
        }
        if (command == null) {
            throw CommandException.generic("QMP input lacks member 'execute'");
        }
        ObjectNode args = (ObjectNode) req.get("arguments");
        if (!negotiated) {
            if (!command.equals("qmp_capabilities")) {
                throw new CommandException(ErrorClass.CommandNotFound, "Expecting capabilities negotiation with 'qmp_capabilities'");
            }
            dev.strata.monitor.Args a = dev.strata.monitor.Args.validate(
                    monitor.registry().qmp("qmp_capabilities").params(), args);
            boolean wantOob = false;
            if (a.get("enable") != null) {
                for (JsonNode e : a.get("enable")) {
                    wantOob |= e.asText().equals("oob");
                }
            }
            oob = wantOob;
            negotiated = true;
            subscription = monitor.events().subscribe(this);
            return ok(Json.object(), req.get("id"));
        }
        if (isOob) {
            throw CommandException.generic("The command " + command + " does not support OOB");
        }
        return ok(monitor.registry().invoke(command, args, ctx), req.get("id"));
    }

    private static ObjectNode ok(JsonNode value, JsonNode id) {
        ObjectNode r = Json.object();
        r.set("return", value);
        if (id != null) {
            r.set("id", id);
        }
        return r;
    }

    private static ObjectNode error(CommandException e, JsonNode id) {
        ObjectNode r = Json.object();
        ObjectNode err = r.putObject("error");
        err.put("class", e.errorClass().name());
        err.put("desc", e.qmpDesc());
        if (id != null) {
            r.set("id", id);
        }
        return r;
    }

    @Override
    public void event(QmpEvent event) {
        send(event.toJson());
    }

    private void send(JsonNode doc) {
        if (closed.get()) {
            return;
        }
        if (outbox.size() >= MAX_QUEUED) {
            // a client that stopped reading must not make the machine hold its events forever
            close();
            return;
        }
        outbox.add(QmpJson.write(doc) + "\r\n");
    }

    private void drain() {
        try {
            while (true) {
                String s = outbox.take();
                if (s == POISON) {
                    break;
                }
                out.write(s.getBytes(StandardCharsets.UTF_8));
                if (outbox.isEmpty()) {
                    out.flush();
                }
            }
            out.flush();
        } catch (IOException | InterruptedException e) {
            close();
        } finally {
            onClose.run();
        }
    }

    /** Ends the session: stops events, lets the writer finish what is queued, closes the connection. */
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (subscription != null) {
            try {
                subscription.close();
            } catch (Exception e) {
                // unsubscribing a list entry cannot fail in a way that matters
            }
        }
        outbox.add(POISON);
    }

    boolean isClosed() {
        return closed.get();
    }
}
