package dev.strata.blockdrv;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A driver kind, found through {@link java.util.ServiceLoader} (file
 * {@code META-INF/services/dev.strata.blockdrv.BlockDriverFactory}), so a new format only adds
 * a class and one line there.
 */
public interface BlockDriverFactory {

    /** The name used by {@code format=} / {@code driver=}, e.g. {@code qcow2}. */
    String name();

    /** Protocol drivers open a host resource themselves; format and filter drivers sit on a {@code file} child. */
    boolean isProtocol();

    /**
     * Opens the driver for {@code node}. For format and filter drivers the {@code file} child is
     * already attached when this is called; the backing child is attached afterwards by the graph
     * from {@link BlockDriver#backingFileName()}.
     */
    BlockDriver open(BlockNode node, BlockOptions options);

    /**
     * As {@link #open(BlockNode, BlockOptions)}, for drivers that name user objects (the
     * {@code nbd} driver's {@code tls-creds}): {@code objects} finds the machine's {@code -object}s
     * by id (null when there is none). Other drivers keep this default.
     */
    default BlockDriver open(BlockNode node, BlockOptions options, java.util.function.Function<String, Object> objects) {
        return open(node, options);
    }

    /**
     * True when a plain filename (as in {@code -drive file=...}) names this protocol, e.g.
     * {@code nbd://...}; such a name opens this driver instead of {@code file}, as QEMU's
     * {@code bdrv_find_protocol} does.
     */
    default boolean ownsFilename(String filename) {
        return false;
    }

    /** The driver's own open options that it acts on (generic node options are not listed). */
    default java.util.Set<String> runtimeOptions() {
        return java.util.Set.of();
    }

    /** QEMU open options of this driver that Strata's driver does not implement: refused by name. */
    default java.util.Set<String> qemuOptionsNotImplemented() {
        return java.util.Set.of();
    }

    /** How sure this driver is that {@code header} (the first bytes of a file) is its format, 0..100. */
    default int probe(ByteBuffer header) {
        return 0;
    }

    /** True when images of this kind can record a backing file. */
    default boolean supportsBacking() {
        return false;
    }

    /**
     * Creates an image file (qemu-img create). Options a format knows:
     * {@code backing_file}, {@code backing_fmt}, {@code cluster_size}, ...
     */
    default void create(Path file, long size, BlockOptions options) {
        throw BlockException.unsupported("Format '" + name() + "' does not support image creation");
    }
}
