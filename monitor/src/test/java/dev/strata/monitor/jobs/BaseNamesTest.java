package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Naming a base (or top) by file name on a {@code -blockdev} chain whose image headers hold
 * relative backing names, the seed's {@code block_stream node-D file-B.img}: the backing string
 * exactly as the overlay's header holds it, the file name {@code info block -n} prints, and QEMU's
 * own rule (a relative name taken from the overlay's directory, canonical paths compared) all
 * name the same image; a name that names two different images of the chain is refused, naming
 * both; an unknown name keeps QEMU's {@code Can't find 'x' in the backing chain}.
 */
@Timeout(120)
class BaseNamesTest {

    private static final long SIZE = 1L << 20;

    @TempDir
    Path dir;
    private TestMachine machine;
    private dev.strata.monitor.Monitor monitor;

    @AfterEach
    void tearDown() {
        if (machine != null) {
            machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
            machine.graph().closeAll();
        }
    }

    /** Creates {@code file} (qcow2, header backing string {@code backing} or none) holding 0x10+slot in its 64 KiB slot. */
    private void image(String file, String backing, int slot) {
        BlockOptions o = BlockOptions.empty();
        if (backing != null) {
            o = o.with("backing_file", backing).with("backing_fmt", "qcow2");
        }
        DriverRegistry.standard().require("qcow2").create(dir.resolve(file), SIZE, o);
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", dir.resolve(file).toString()).with("backing", ""));
            ByteBuffer b = ByteBuffer.allocate(64 << 10);
            while (b.hasRemaining()) {
                b.put((byte) (0x10 + slot));
            }
            n.write((long) slot << 16, b.flip());
            n.flush();
        } finally {
            g.closeAll();
        }
    }

    /** -blockdev file + qcow2 nodes for each (node name, file, backing node) given. */
    private void start(String[]... nodes) {
        machine = new TestMachine(dir);
        for (String[] n : nodes) {
            machine.graph().open(BlockOptions.parse("driver=file,filename=" + dir.resolve(n[1]) + ",node-name=f" + n[0], null));
            machine.graph().open(BlockOptions.parse("driver=qcow2,file=f" + n[0] + ",node-name=" + n[0] + ",backing=" + n[2], null));
        }
        monitor = machine.monitor();
    }

    private void seedChain() {
        image("file-A.img", null, 0);
        image("file-B.img", "file-A.img", 1);
        image("file-C.img", "file-B.img", 2);
        image("file-D.img", "file-C.img", 3);
        start(new String[] {"node-A", "file-A.img", ""}, new String[] {"node-B", "file-B.img", "node-A"},
                new String[] {"node-C", "file-C.img", "node-B"}, new String[] {"node-D", "file-D.img", "node-C"});
    }

    private String hmp(String line) {
        return monitor.hmp().executeNow(line);
    }

    private String qmpError(String name, String json) {
        try {
            com.fasterxml.jackson.databind.node.ObjectNode args =
                    (com.fasterxml.jackson.databind.node.ObjectNode) dev.strata.monitor.Json.MAPPER.readTree(json);
            monitor.registry().invoke(name, args, new dev.strata.monitor.CommandContext(machine,
                    monitor.registry(), monitor.events(), new StringBuilder()));
            return "";
        } catch (CommandException e) {
            return e.desc();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void awaitNoJobs() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!machine.jobs().jobsNewestFirst().isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "job did not end");
            Thread.sleep(5);
        }
    }

    private BlockNode node(String name) {
        return machine.graph().node(name);
    }

    private byte at(BlockNode n, int slot) {
        ByteBuffer b = ByteBuffer.allocate(512);
        n.read((long) slot << 16, b);
        return b.get(0);
    }

    @Test
    void theSeedsFormNamesTheBaseByTheHeadersBackingString() throws Exception {
        seedChain();
        BlockNode b = node("node-B");
        assertEquals("", hmp("block_stream node-D file-B.img"));
        awaitNoJobs();
        assertSame(b, node("node-D").backing(), "streamed C into D, D now backs onto B");
        assertEquals((byte) 0x12, at(node("node-D"), 2), "C's data is in D");
        assertEquals((byte) 0x11, at(node("node-D"), 1), "B's data still read through B");
    }

    @Test
    void theNameInfoBlockPrintsAndQemusRelativeRuleNameTheSameImage() throws Exception {
        seedChain();
        BlockNode b = node("node-B");
        String printed = b.filename();
        assertTrue(hmp("info block -n").contains("node-B: " + printed + " (qcow2)"), "the name info block -n prints");
        assertEquals("", qmpError("block-stream", "{\"device\":\"node-D\",\"job-id\":\"s1\",\"base\":\"" + printed + "\"}"));
        awaitNoJobs();
        assertSame(b, node("node-D").backing());
        // node-D's header now names B by its absolute path; QEMU's rule: "./file-A.img" from node-B's directory
        assertEquals("", qmpError("block-commit", "{\"device\":\"node-D\",\"job-id\":\"c1\",\"top\":\"file-B.img\",\"base\":\"./file-A.img\"}"));
        awaitNoJobs();
        assertSame(node("node-A"), node("node-D").backing(), "B committed into A");
        assertEquals((byte) 0x11, at(node("node-A"), 1));
        assertEquals("Can't find 'file-B.img' in the backing chain",
                qmpError("block-stream", "{\"device\":\"node-D\",\"job-id\":\"s2\",\"base\":\"file-B.img\"}"));
        assertEquals("Can't find 'nosuch.img' in the backing chain",
                qmpError("block-stream", "{\"device\":\"node-D\",\"job-id\":\"s3\",\"base\":\"nosuch.img\"}"));
    }

    @Test
    void aNameThatNamesTwoImagesIsRefusedNamingBoth() {
        // X's header says file-B.img and so does C's, but the graph puts X between C and B
        image("file-A.img", null, 0);
        image("file-B.img", "file-A.img", 1);
        image("X.img", "file-B.img", 4);
        image("file-C.img", "file-B.img", 2);
        image("file-D.img", "file-C.img", 3);
        start(new String[] {"node-A", "file-A.img", ""}, new String[] {"node-B", "file-B.img", "node-A"},
                new String[] {"node-X", "X.img", "node-B"}, new String[] {"node-C", "file-C.img", "node-X"},
                new String[] {"node-D", "file-D.img", "node-C"});
        String both = "'file-B.img' names two images of the backing chain: '" + dir.resolve("X.img") + "' and '"
                + dir.resolve("file-B.img") + "'";
        assertEquals(both, qmpError("block-stream", "{\"device\":\"node-D\",\"job-id\":\"s1\",\"base\":\"file-B.img\"}"));
        assertEquals("Error: " + both + "\n", hmp("block_stream node-D file-B.img"));
        assertEquals(both, qmpError("block-commit", "{\"device\":\"node-D\",\"job-id\":\"c1\",\"base\":\"file-B.img\"}"));
        assertTrue(machine.jobs().jobsNewestFirst().isEmpty());
        // the unambiguous names still work
        assertEquals("", qmpError("block-stream", "{\"device\":\"node-D\",\"job-id\":\"s2\",\"base\":\"" + dir.resolve("X.img") + "\"}"));
    }
}
