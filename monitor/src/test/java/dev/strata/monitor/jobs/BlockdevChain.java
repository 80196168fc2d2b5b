package dev.strata.monitor.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.monitor.CommandContext;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Json;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A machine with the {@code -blockdev} chain {@code nA <- nB <- drive0} (qcow2 files A, B, C in
 * {@code dir}; A holds 0xaa at 0, B 0xbb at 1 MiB, C 0xcc at 2 MiB; the headers name their
 * backing files relatively), a null-co node {@code nt}, a qcow2 node {@code ov} without backing
 * (file S), and no drive; QMP commands go through the monitor's registry. Test thread only.
 */
final class BlockdevChain implements AutoCloseable {

    static final long SIZE = 4L << 20;

    final Path dir;
    final TestMachine machine;
    final Monitor monitor;
    /** Events as "NAME" or "NAME status". */
    final List<String> events = new CopyOnWriteArrayList<>();

    BlockdevChain(Path dir) {
        this.dir = dir;
        machine = new TestMachine(dir);
        String[] names = {"A", "B", "C"};
        for (int i = 0; i < names.length; i++) {
            BlockOptions o = BlockOptions.empty();
            if (i > 0) {
                o = o.with("backing_file", names[i - 1] + ".qcow2").with("backing_fmt", "qcow2");
            }
            DriverRegistry.standard().require("qcow2").create(dir.resolve(names[i] + ".qcow2"), SIZE, o);
            BlockGraph g = new BlockGraph();
            BlockNode n = g.open(BlockOptions.empty().with("file", dir.resolve(names[i] + ".qcow2").toString()).with("backing", ""));
            byte[] data = new byte[1 << 20];
            Arrays.fill(data, (byte) (0xaa + 0x11 * i));
            n.write((long) i << 20, ByteBuffer.wrap(data));
            n.flush();
            g.closeAll();
        }
        DriverRegistry.standard().require("qcow2").create(dir.resolve("S.qcow2"), SIZE, BlockOptions.empty());
        blockdev("driver=file,filename=" + dir.resolve("A.qcow2") + ",node-name=fA");
        blockdev("driver=qcow2,file=fA,node-name=nA");
        blockdev("driver=file,filename=" + dir.resolve("B.qcow2") + ",node-name=fB");
        blockdev("driver=qcow2,file=fB,node-name=nB,backing=nA");
        blockdev("driver=file,filename=" + dir.resolve("C.qcow2") + ",node-name=fC");
        blockdev("driver=qcow2,file=fC,node-name=drive0,backing=nB");
        blockdev("driver=null-co,node-name=nt,size=" + SIZE);
        blockdev("driver=file,filename=" + dir.resolve("S.qcow2") + ",node-name=fS");
        blockdev("driver=qcow2,file=fS,node-name=ov,backing=");
        monitor = machine.monitor();
        monitor.events().subscribe(e -> events.add(e.name() + (e.data() != null && e.data().has("status")
                ? " " + e.data().get("status").asText() : "")));
    }

    /** As {@code -blockdev}: the monitor holds the node. */
    void blockdev(String options) {
        machine.graph().holdForMonitor(machine.graph().open(BlockOptions.parse(options, null)));
    }

    BlockNode node(String name) {
        return machine.graph().node(name);
    }

    JsonNode qmp(String name, String json) {
        ObjectNode args;
        try {
            args = (ObjectNode) Json.MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return monitor.registry().invoke(name, args, new CommandContext(machine, monitor.registry(), monitor.events(), new StringBuilder()));
    }

    /** The failure of a command that must fail. */
    CommandException error(String name, String json) {
        try {
            qmp(name, json);
        } catch (CommandException e) {
            return e;
        }
        throw new AssertionError(name + " " + json + " succeeded");
    }

    @Override
    public void close() {
        machine.jobs().cancelAll(java.time.Duration.ofSeconds(20));
        machine.graph().closeAll();
    }
}
