package dev.strata.blockdrv.raw;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import java.nio.file.Path;

/** Factory of the {@code raw} format. Probing answers 1: raw is the fallback when nothing else matches. */
public final class RawDriverFactory implements BlockDriverFactory {

    @Override
    public String name() {
        return "raw";
    }

    @Override
    public boolean isProtocol() {
        return false;
    }

    @Override
    public java.util.Set<String> runtimeOptions() {
        return java.util.Set.of("offset", "size");
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions options) {
        long offset = options.getSize("offset", 0);
        long size = options.getSize("size", -1);
        if (offset < 0) {
            throw BlockException.invalid("offset cannot be negative");
        }
        return new RawDriver(node, offset, size, options.getBool("x-probed", false));
    }

    @Override
    public int probe(java.nio.ByteBuffer header) {
        return 1;
    }

    @Override
    public void create(Path file, long size, BlockOptions options) {
        if (options.has("backing_file")) {
            throw BlockException.unsupported("Backing file not supported for file format 'raw'");
        }
        DriverRegistry.standard().require("file").create(file, size, options);
    }
}
