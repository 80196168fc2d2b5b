package dev.strata.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a handler may use during one call: the machine, the registry (to call another
 * command the way a client would), the event bus, an HMP text sink, and actions to run after
 * the reply has been sent (e.g. {@code quit}).
 *
 * <p>One context per call, used by the calling thread only; not thread-safe.
 */
public final class CommandContext {

    private final Machine machine;
    private final CommandRegistry registry;
    private final EventBus events;
    private final StringBuilder out;
    private final List<Runnable> afterReply = new ArrayList<>();
    private boolean endSession;

    public CommandContext(Machine machine, CommandRegistry registry, EventBus events, StringBuilder out) {
        this.machine = machine;
        this.registry = registry;
        this.events = events;
        this.out = out;
    }

    public Machine machine() {
        return machine;
    }

    public CommandRegistry registry() {
        return registry;
    }

    public EventBus events() {
        return events;
    }

    /** HMP output: text with {@code \n} line ends (the transport turns them into {@code \r\n}). */
    public void print(String text) {
        out.append(text);
    }

    public void println(String line) {
        out.append(line).append('\n');
    }

    /** Text printed so far in this call. */
    public String output() {
        return out.toString();
    }

    /**
     * Calls QMP command {@code name} with {@code arguments} exactly as a QMP client would
     * (validation included); HMP skins use it so both paths share one handler.
     */
    public JsonNode call(String name, ObjectNode arguments) {
        return registry.invoke(name, arguments, this);
    }

    /** Runs {@code action} once the reply to this call has gone out (or the HMP output was printed). */
    public void afterReply(Runnable action) {
        afterReply.add(action);
    }

    /** Asks the transport to close this client's connection after the reply ({@code quit}). */
    public void endSession() {
        endSession = true;
    }

    public boolean sessionEnds() {
        return endSession;
    }

    /** Runs and clears the after-reply actions; called by the transport. */
    public void runAfterReply() {
        List<Runnable> l = List.copyOf(afterReply);
        afterReply.clear();
        for (Runnable r : l) {
            r.run();
        }
    }
}
