package dev.strata.blockdrv.nullco;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.Buffers;
import dev.strata.blockdrv.SupportsDiscard;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.nio.ByteBuffer;

/**
 * QEMU's {@code null-co}: a device of a given size that drops writes and reads zeros (with
 * {@code read-zeroes=on}; otherwise reads leave the buffer as it is, as QEMU does, for benchmarks).
 * Stateless and thread safe.
 */
public final class NullDriver implements BlockDriver, SupportsWriteZeroes, SupportsDiscard {

    private final long size;
    private final boolean readZeroes;

    public NullDriver(long size, boolean readZeroes) {
        this.size = size;
        this.readZeroes = readZeroes;
    }

    @Override
    public String formatName() {
        return "null-co";
    }

    @Override
    public String filename() {
        return "null-co://";
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        if (readZeroes) {
            Buffers.zero(dst);
        } else {
            dst.position(dst.limit());
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        src.position(src.limit());
    }

    @Override
    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
    }

    @Override
    public void discard(long offset, long bytes) {
    }

    @Override
    public void flush() {
    }

    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        return readZeroes ? BlockStatus.zero(offset, bytes) : BlockStatus.data(offset, bytes, offset);
    }

    @Override
    public void close() {
    }
}
