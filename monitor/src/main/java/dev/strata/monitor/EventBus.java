package dev.strata.monitor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Fans machine events out to every monitor: QMP events go to each negotiated QMP client, text
 * lines (a job finished, an I/O error) to each HMP console, which prints them above its prompt.
 *
 * <p>How another module emits: {@code events.emit("BLOCK_JOB_COMPLETED", data)} with {@code data}
 * built by {@link Json#object()} in the schema's member order; {@code events.printAsync("...")}
 * for HMP. Both may be called from any thread and never block on a client: listeners only queue
 * (a QMP session that cannot keep up is disconnected, never waited for).
 *
 * <p>Thread safety: the listener list is a copy-on-write list; emitting is lock-free.
 */
public final class EventBus {

    /** A monitor that wants events. Both methods must return quickly and never throw. */
    public interface Listener {
        void event(QmpEvent event);

        default void asyncText(String text) {
        }
    }

    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    /** Registers {@code l}; closing the result unregisters it. */
    public AutoCloseable subscribe(Listener l) {
        listeners.add(l);
        return () -> listeners.remove(l);
    }

    /** Emits event {@code name} with {@code data} (null: the event has no data) stamped now. */
    public QmpEvent emit(String name, ObjectNode data) {
        Instant now = Instant.now();
        QmpEvent e = new QmpEvent(name, data, now.getEpochSecond(), now.getNano() / 1000);
        for (Listener l : listeners) {
            try {
                l.event(e);
            } catch (RuntimeException ex) {
                // one broken listener must not stop the others or the emitter
            }
        }
        return e;
    }

    /** Text for HMP consoles (one or more lines, without trailing newline), printed above the prompt. */
    public void printAsync(String text) {
        for (Listener l : listeners) {
            try {
                l.asyncText(text);
            } catch (RuntimeException ex) {
                // as above
            }
        }
    }

    /** Number of current listeners (tests). */
    public int listenerCount() {
        return listeners.size();
    }
}
