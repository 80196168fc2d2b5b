package dev.strata.monitor.qemuio;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockNode;
import java.nio.ByteBuffer;

/**
 * What {@code qemu-io} works on: a device's backend (through its door, like guest I/O) or a bare
 * node (as QEMU does with a temporary backend). Calls block the calling monitor thread.
 */
interface IoTarget {

    long size();

    void read(long offset, ByteBuffer dst);

    void write(long offset, ByteBuffer src);

    void writeZeroes(long offset, long bytes, boolean mayUnmap);

    void discard(long offset, long bytes);

    void flush();

    static IoTarget of(BlockBackend b) {
        return new IoTarget() {
            public long size() {
                return b.size();
            }

            public void read(long offset, ByteBuffer dst) {
                b.read(offset, dst);
            }

            public void write(long offset, ByteBuffer src) {
                b.write(offset, src);
            }

            public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
                b.writeZeroes(offset, bytes, mayUnmap);
            }

            public void discard(long offset, long bytes) {
                b.discard(offset, bytes);
            }

            public void flush() {
                b.flush();
            }
        };
    }

    static IoTarget of(BlockNode n) {
        return new IoTarget() {
            public long size() {
                return n.size();
            }

            public void read(long offset, ByteBuffer dst) {
                n.read(offset, dst);
            }

            public void write(long offset, ByteBuffer src) {
                n.write(offset, src);
            }

            public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
                n.writeZeroes(offset, bytes, mayUnmap);
            }

            public void discard(long offset, long bytes) {
                n.discard(offset, bytes);
            }

            public void flush() {
                n.flush();
            }
        };
    }
}
