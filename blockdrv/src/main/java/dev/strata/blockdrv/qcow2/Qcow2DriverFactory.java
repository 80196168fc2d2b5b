package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Factory of the {@code qcow2} format, found through {@link java.util.ServiceLoader}. Open options:
 * {@code l2-cache-size}, {@code refcount-cache-size} (bytes, suffixes allowed), {@code x-mmap} (on: guest
 * data reads through a memory mapping), {@code x-check} (on: a checker may open dirty or corrupt
 * images read-write to repair them). Create options:
 * {@code backing_file}, {@code backing_fmt}, {@code cluster_size}, {@code compat} (0.10 or 1.1),
 * {@code extended_l2}, {@code lazy_refcounts}, {@code refcount_bits}. Stateless.
 */
public final class Qcow2DriverFactory implements BlockDriverFactory {

    /** The create options qemu-img accepts for qcow2 (those Strata does not implement are refused by {@link #create}). */
    public static java.util.Set<String> createOptions() {
        return Qcow2Creator.KNOWN;
    }

    @Override
    public String name() {
        return "qcow2";
    }

    @Override
    public boolean isProtocol() {
        return false;
    }

    @Override
    public java.util.Set<String> runtimeOptions() {
        return java.util.Set.of("l2-cache-size", "refcount-cache-size", "lazy-refcounts", "x-mmap", "x-check");
    }

    @Override
    public java.util.Set<String> qemuOptionsNotImplemented() {
        return java.util.Set.of("cache-size", "l2-cache-entry-size", "cache-clean-interval", "overlap-check",
                "pass-discard-request", "pass-discard-snapshot", "pass-discard-other", "discard-no-unref", "data-file",
                "encrypt");
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions options) {
        if (options.getBool("lazy-refcounts", false)) {
            throw BlockException.unsupported("lazy-refcounts=on is not supported by Strata");
        }
        return Qcow2Driver.open(node, options);
    }

    /** The qcow2 magic with a version we know is certain; the magic alone still wins over raw. */
    @Override
    public int probe(ByteBuffer header) {
        if (header.remaining() < 8 || header.getInt(header.position()) != Qcow2Format.MAGIC) {
            return 0;
        }
        int version = header.getInt(header.position() + 4);
        return version == 2 || version == 3 ? 100 : 50;
    }

    @Override
    public boolean supportsBacking() {
        return true;
    }

    /** Creates an image; a negative {@code size} takes the backing file's size. */
    @Override
    public void create(Path file, long size, BlockOptions options) {
        Qcow2Creator.create(file, size, options);
    }
}
