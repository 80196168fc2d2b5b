package dev.strata.monitor.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.monitor.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class QmpJsonTest {

    @Test
    void memberOrderIsQemusHashOrder() {
        // built in QAPI schema order, written in the order the reference shows
        ObjectNode j = Json.object();
        j.put("type", "stream").put("device", "virtio0").put("len", 67108864).put("offset", 524288)
                .put("busy", false).put("paused", false).put("speed", 1024).put("ready", false)
                .put("status", "running").put("auto-finalize", true).put("auto-dismiss", true).put("io-status", "ok");
        assertEquals("{\"auto-finalize\": true, \"io-status\": \"ok\", \"device\": \"virtio0\", \"auto-dismiss\": true, \"busy\": false, "
                + "\"len\": 67108864, \"offset\": 524288, \"status\": \"running\", \"paused\": false, \"speed\": 1024, \"ready\": false, "
                + "\"type\": \"stream\"}", QmpJson.write(j));
        ObjectNode ev = Json.object();
        ev.put("id", "virtio0").put("status", "created");
        assertEquals("{\"status\": \"created\", \"id\": \"virtio0\"}", QmpJson.write(ev));
        assertEquals("{\"micro\": 22, \"minor\": 2, \"major\": 7}",
                QmpJson.write(Json.object().put("major", 7).put("minor", 2).put("micro", 22)));
    }

    @Test
    void escapesLikeQemu() {
        assertEquals("\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u00E9\\u007F/\"", QmpJson.write(new com.fasterxml.jackson.databind.node.TextNode("a\"b\\c\n\r\t\u0001\u00e9\u007f/")));
        assertEquals("[]", QmpJson.write(Json.array()));
        assertEquals("{}", QmpJson.write(Json.object()));
    }
}
