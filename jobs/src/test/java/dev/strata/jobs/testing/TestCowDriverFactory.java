package dev.strata.jobs.testing;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.nio.file.Path;

/** Factory of the test-only {@code test-cow} overlay format; see {@link TestCowDriver}. */
public final class TestCowDriverFactory implements BlockDriverFactory {

    @Override
    public String name() {
        return "test-cow";
    }

    @Override
    public boolean isProtocol() {
        return false;
    }

    @Override
    public boolean supportsBacking() {
        return true;
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions options) {
        TestCowStore.Image image = TestCowStore.get(Path.of(node.file().filename()));
        if (image == null) {
            throw BlockException.invalid("not a test-cow image: " + node.file().filename());
        }
        return new TestCowDriver(node, image);
    }

    @Override
    public void create(Path file, long size, BlockOptions options) {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(0);
            f.setLength(size);  // sparse: data lives at its guest offset
        } catch (IOException e) {
            throw new BlockException(BlockException.Kind.IO, e.getMessage(), e);
        }
        TestCowStore.put(file, new TestCowStore.Image(size, options.get("backing_file"), options.get("backing_fmt")));
    }
}
