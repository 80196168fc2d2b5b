package dev.strata.harness.torture;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The disk of a torture trial, made with QEMU's own tools so Strata never judges only itself:
 * {@code base.qcow2 <- mid.qcow2 <- top.qcow2}, 64 MiB virtual, backing files named relatively.
 * The base holds a pattern over 0-24 MiB, mid over 8-16 MiB, top over 12-20 MiB, so a guest
 * window over the first 32 MiB mixes all three layers and unallocated space, and stream and
 * commit have real data to move while the guest writes.
 *
 * <p>Stateless; any thread.
 */
public final class ChainFixture {

    /** Virtual size of every layer. */
    public static final long SIZE = 64L << 20;
    /** The guest's window: the first 32 MiB. */
    public static final long WINDOW = 32L << 20;

    private ChainFixture() {
    }

    /** Creates the three layers in {@code dir}; returns the top image. */
    public static Path create(Path dir) throws IOException {
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", Long.toString(SIZE));
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x11 0 24M", "base.qcow2");
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2");
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x22 8M 8M", "mid.qcow2");
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2");
        Tools.must(dir, "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x33 12M 8M", "top.qcow2");
        return dir.resolve("top.qcow2");
    }
}
