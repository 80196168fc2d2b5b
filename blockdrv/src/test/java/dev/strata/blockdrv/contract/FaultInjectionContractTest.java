package dev.strata.blockdrv.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The fault filter with no rules keeps the contract; with rules it fails exactly what they name. */
class FaultInjectionContractTest extends DriverContractTest {
    @Override
    protected BlockNode open(BlockGraph graph, Path dir) throws Exception {
        Path f = dir.resolve("disk.raw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        return graph.open(BlockOptions.parse("driver=fault-injection,file.driver=file,file.filename=" + f, null));
    }

    @Test
    void injectedErrorsFailOnlyTheirRangeAndOperation() {
        FaultInjectionDriver d = (FaultInjectionDriver) node.driver();
        d.inject(new FaultRule(FaultRule.Op.WRITE, 65536, 65536, BlockException.Kind.NO_SPACE, 1));
        BlockException e = assertThrows(BlockException.class, () -> node.write(65536 + 100, ByteBuffer.allocate(10)));
        assertEquals(BlockException.Kind.NO_SPACE, e.kind());
        node.write(65536 + 100, ByteBuffer.allocate(10)); // count was 1: the rule is used up
        node.read(65536, ByteBuffer.allocate(10));         // reads were never affected
        d.inject(FaultRule.everywhere(FaultRule.Op.READ, BlockException.Kind.IO));
        assertEquals(BlockException.Kind.IO,
                assertThrows(BlockException.class, () -> node.read(0, ByteBuffer.allocate(1))).kind());
        node.write(0, ByteBuffer.allocate(1));
        d.clear();
        node.read(0, ByteBuffer.allocate(1));
    }

    @Test
    void optionsCanArmARuleAtOpen() throws Exception {
        Path f = dir.resolve("other.raw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        BlockNode n = graph.open(BlockOptions.parse(
                "driver=fault-injection,errno=EIO,op=flush,file.driver=file,file.filename=" + f, null));
        n.write(0, ByteBuffer.allocate(512));
        assertEquals(BlockException.Kind.IO, assertThrows(BlockException.class, n::flush).kind());
    }
}
