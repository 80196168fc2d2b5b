package dev.strata.blockdrv.contract;

import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.RandomAccessFile;
import java.nio.file.Path;

class RawDriverContractTest extends DriverContractTest {
    @Override
    protected BlockNode open(BlockGraph graph, Path dir) throws Exception {
        Path f = dir.resolve("disk.raw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        return graph.open(BlockOptions.parse("file=" + f + ",format=raw", null));
    }
}
