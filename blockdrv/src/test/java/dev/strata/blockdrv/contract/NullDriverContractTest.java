package dev.strata.blockdrv.contract;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.nio.file.Path;

class NullDriverContractTest extends DriverContractTest {
    @Override
    protected BlockNode open(BlockGraph graph, Path dir) {
        return graph.open(BlockOptions.parse("driver=null-co,size=" + SIZE + ",read-zeroes=on", null));
    }

    @Override
    protected boolean keepsData() {
        return false;
    }
}
