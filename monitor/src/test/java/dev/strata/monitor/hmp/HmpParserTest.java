package dev.strata.monitor.hmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class HmpParserTest {

    private static String err(String name, String types, String rest) {
        StringBuilder out = new StringBuilder();
        ObjectNode r = HmpParser.parse(name, types, rest, 0, out);
        assertNull(r, "expected a parse error for '" + rest + "'");
        return out.toString();
    }

    private static ObjectNode ok(String types, String rest) {
        StringBuilder out = new StringBuilder();
        ObjectNode r = HmpParser.parse("cmd", types, rest, 0, out);
        assertEquals("", out.toString());
        return r;
    }

    @Test
    void qemuMessagesForBadArguments() {
        assertEquals("block_stream: block device name expected\n", err("block_stream", "device:B,speed:o?,base:s?", ""));
        assertEquals("drive_mirror: string expected\n", err("drive_mirror", "reuse:-n,full:-f,device:B,target:s,format:s?", "virtio0"));
        assertEquals("invalid size\n", err("block_job_set_speed", "device:B,speed:o", "virtio0 -1"));
        assertEquals("invalid size\n", err("block_job_set_speed", "device:B,speed:o", "virtio0"));
        assertEquals("block_job_set_speed: extraneous characters at the end of line\n",
                err("block_job_set_speed", "device:B,speed:o", "virtio0 1x"));
        assertEquals("block_stream: extraneous characters at the end of line\n",
                err("block_stream", "device:B,speed:o?,base:s?", "virtio0 0 base extra"));
        assertEquals("block_job_cancel: unsupported option -x\n", err("block_job_cancel", "force:-f,device:B", "-x virtio0"));
        assertEquals("block: unsupported option -x\n", err("block", "nodes:-n,verbose:-v,device:B?", "-x"));
        // QEMU prints the missing letter with %c and the NUL swallows the newline
        assertEquals("block: unsupported option -", err("block", "nodes:-n,verbose:-v,device:B?", "-n -"));
        assertEquals("block: block device name expected\n", err("block", "nodes:-n,verbose:-v,device:B?", "\"virtio0"));
        assertEquals("block: block device name expected\n", err("block", "nodes:-n,verbose:-v,device:B?", "\"vir\\x\""));
    }

    @Test
    void flagsOptionalsAndQuoting() {
        String t = "nodes:-n,verbose:-v,device:B?";
        assertEquals("{\"nodes\":true,\"verbose\":true}", ok(t, "-n -v").toString());
        assertEquals("{\"verbose\":true,\"device\":\"-n\"}", ok(t, "-v -n").toString(), "a flag after its turn is a positional");
        assertEquals("{\"nodes\":true,\"device\":\"v\"}", ok(t, "-nv").toString(), "QEMU reads one letter per flag");
        assertEquals("{\"device\":\"a b\\n\\\"\"}", ok(t, "  \"a b\\n\\\"\"  ").toString());
        assertEquals("{}", ok(t, "   ").toString());
        assertEquals("{\"device\":\"virtio0\",\"speed\":0,\"base\":\"A.qcow2\"}",
                ok("device:B,speed:o?,base:s?", "virtio0 0 A.qcow2").toString());
        assertEquals("{\"name\":\"info  block x\"}", ok("name:S?", "info  block x").toString());
        assertEquals("{\"reuse\":true,\"device\":\"virtio0\",\"snapshot-file\":\"/t/D.qcow2\",\"format\":\"qcow2\"}",
                ok("reuse:-n,device:B,snapshot-file:s?,format:s?", "-n virtio0 /t/D.qcow2 qcow2").toString());
    }

    @Test
    void longWordsAreCutLikeQemusBuffer() {
        String w = "x".repeat(5000);
        assertEquals(HmpParser.MAX_WORD, ok("a:s", w).get("a").asText().length());
    }

    @Test
    void argsTypeLettersAreChecked() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> HmpArg.parse("a:Z"));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> HmpArg.parse("a"));
    }
}
