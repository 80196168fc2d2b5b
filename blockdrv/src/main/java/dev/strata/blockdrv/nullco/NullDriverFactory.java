package dev.strata.blockdrv.nullco;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;

/** Factory of {@code null-co}: options {@code size} (default 1 GiB, as QEMU) and {@code read-zeroes}. */
public final class NullDriverFactory implements BlockDriverFactory {

    @Override
    public String name() {
        return "null-co";
    }

    @Override
    public boolean isProtocol() {
        return true;
    }

    @Override
    public java.util.Set<String> runtimeOptions() {
        return java.util.Set.of("size", "read-zeroes");
    }

    @Override
    public java.util.Set<String> qemuOptionsNotImplemented() {
        return java.util.Set.of("latency-ns");
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions options) {
        return new NullDriver(options.getSize("size", 1L << 30), options.getBool("read-zeroes", false));
    }
}
