package dev.strata.blockdrv.nbd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockOptions;
import org.junit.jupiter.api.Test;

/** The nbd driver's options and filename forms, with QEMU 7.2's messages for bad ones. */
class NbdClientTargetTest {

    static NbdClientTarget parse(String options) {
        return NbdClientTarget.of(BlockOptions.parse(options, null));
    }

    static String error(String options) {
        return assertThrows(BlockException.class, () -> parse(options)).getMessage();
    }

    @Test
    void blockdevOptions() {
        assertEquals(new NbdClientTarget("/run/s.sock", null, null, "disk", 5, 0),
                parse("server.type=unix,server.path=/run/s.sock,export=disk,reconnect-delay=5"));
        assertEquals(new NbdClientTarget(null, "10.0.0.2", "10809", "", 0, 3),
                parse("server.type=inet,server.host=10.0.0.2,server.port=10809,open-timeout=3"));
    }

    @Test
    void filenameForms() {
        assertEquals(new NbdClientTarget(null, "h", "4000", "disk", 0, 0), parse("filename=nbd://h:4000/disk"));
        assertEquals(new NbdClientTarget(null, "h", "10809", "disk", 0, 0), parse("filename=nbd+tcp://h/disk"));
        assertEquals(new NbdClientTarget("/s", null, null, "d", 0, 0), parse("filename=nbd+unix:///d?socket=/s"));
        assertEquals(new NbdClientTarget("/s", null, null, "d", 0, 0), parse("filename=nbd:unix:/s:exportname=d"));
        assertEquals(new NbdClientTarget(null, "h", "99", "", 0, 0), parse("filename=nbd:h:99"));
        assertEquals("nbd+unix:///d?socket=/s", parse("filename=nbd:unix:/s:exportname=d").uri());
    }

    @Test
    void qemuMessages() {
        assertEquals("Parameter 'server' is missing", error("export=disk"));
        assertEquals("Parameter 'server.port' is missing", error("server.type=inet,server.host=127.0.0.1"));
        assertEquals("Parameter 'server.path' is missing", error("server.type=unix"));
        assertEquals("Parameter 'reconnect-delay' expects integer", error("server.type=unix,server.path=/s,reconnect-delay=x"));
        assertEquals("No valid URL specified", error("filename=nbd+unix:///disk"));
        assertEquals("No valid URL specified", error("filename=nbd://127.0.0.1:1/disk?foo=1"));
        assertEquals("Unknown protocol 'nbd+foo'", error("filename=nbd+foo:///disk"));
        assertEquals("error parsing address 'bogus'", error("filename=nbd:bogus"));
    }

    /** Opening errors as QEMU words them, through the graph (nothing is left registered). */
    @Test
    void connectErrors() {
        BlockGraph g = new BlockGraph();
        try {
            String m = assertThrows(BlockException.class,
                    () -> g.open(BlockOptions.parse("driver=nbd,server.type=unix,server.path=/nonexistent/s.sock", null))).getMessage();
            assertEquals("Failed to connect to '/nonexistent/s.sock': No such file or directory", m);
            assertEquals("Block protocol 'nbd' doesn't support the option 'foo'", assertThrows(BlockException.class,
                    () -> g.open(BlockOptions.parse("driver=nbd,server.type=unix,server.path=/s,foo=1", null))).getMessage());
        } finally {
            g.closeAll();
        }
    }
}
