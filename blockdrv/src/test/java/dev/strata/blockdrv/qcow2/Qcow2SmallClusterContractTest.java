package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.contract.DriverContractTest;
import java.nio.file.Path;

/** The driver contract on a 512-byte-cluster, 1-bit-refcount image over a backing file: every edge case at once. */
class Qcow2SmallClusterContractTest extends DriverContractTest {
    @Override
    protected BlockNode open(BlockGraph graph, Path dir) {
        Path base = dir.resolve("base.qcow2");
        Path f = dir.resolve("disk.qcow2");
        DriverRegistry.standard().require("qcow2").create(base, SIZE, BlockOptions.parse("cluster_size=512", null));
        DriverRegistry.standard().require("qcow2").create(f, SIZE,
                BlockOptions.parse("cluster_size=512,refcount_bits=1,backing_file=base.qcow2,backing_fmt=qcow2", null));
        return graph.open(BlockOptions.parse("file=" + f + ",format=qcow2", null));
    }
}
