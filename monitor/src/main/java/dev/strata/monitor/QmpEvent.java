package dev.strata.monitor;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One asynchronous QMP event: name, optional data, wall-clock time of emission.
 *
 * @param data null for events without data (e.g. {@code STOP}); the wire form then has no {@code data}
 */
public record QmpEvent(String name, ObjectNode data, long seconds, long microseconds) {

    /** The wire form: {@code {"timestamp": {"seconds": S, "microseconds": U}, "event": N, "data": D}}. */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        ObjectNode ts = o.putObject("timestamp");
        ts.put("seconds", seconds);
        ts.put("microseconds", microseconds);
        o.put("event", name);
        if (data != null) {
            o.set("data", data);
        }
        return o;
    }
}
