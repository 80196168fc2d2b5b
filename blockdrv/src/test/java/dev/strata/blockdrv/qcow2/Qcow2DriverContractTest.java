package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.contract.DriverContractTest;
import java.nio.file.Path;

/** The driver contract on a fresh 64 KiB-cluster qcow2 image. */
class Qcow2DriverContractTest extends DriverContractTest {
    @Override
    protected BlockNode open(BlockGraph graph, Path dir) {
        Path f = dir.resolve("disk.qcow2");
        DriverRegistry.standard().require("qcow2").create(f, SIZE, BlockOptions.empty());
        return graph.open(BlockOptions.parse("file=" + f + ",format=qcow2", null));
    }
}
