package dev.strata.blockdrv.fault;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.SupportsDiscard;
import dev.strata.blockdrv.SupportsResize;
import dev.strata.blockdrv.SupportsWriteZeroes;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A filter that passes requests to its {@code file} child unless a {@link FaultRule} says the
 * request fails: the test double for EIO and ENOSPC on guest, job-source and job-target paths.
 * Rules can be added and removed at run time from any thread.
 */
public final class FaultInjectionDriver implements BlockDriver, SupportsWriteZeroes, SupportsDiscard, SupportsResize {

    private final BlockNode node;
    private final List<FaultRule> rules = new CopyOnWriteArrayList<>();

    public FaultInjectionDriver(BlockNode node) {
        this.node = node;
    }

    public void inject(FaultRule rule) {
        rules.add(rule);
    }

    public void clear() {
        rules.clear();
    }

    private void check(FaultRule.Op op, long offset, long len) {
        for (FaultRule r : rules) {
            if (r.fires(op, offset, len)) {
                if (r.exhausted()) {
                    rules.remove(r);
                }
                throw r.error();
            }
        }
    }

    @Override
    public String formatName() {
        return "fault-injection";
    }

    @Override
    public long size() {
        return node.file().size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        check(FaultRule.Op.READ, offset, dst.remaining());
        node.file().read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        check(FaultRule.Op.WRITE, offset, src.remaining());
        node.file().write(offset, src);
    }

    @Override
    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        check(FaultRule.Op.WRITE, offset, bytes);
        node.file().writeZeroes(offset, bytes, mayUnmap);
    }

    @Override
    public void discard(long offset, long bytes) {
        check(FaultRule.Op.WRITE, offset, bytes);
        node.file().discard(offset, bytes);
    }

    @Override
    public void flush() {
        check(FaultRule.Op.FLUSH, 0, 0);
        // a filter that swallowed flushes would make every durability claim above it untrue
        node.file().flush();
    }

    /**
     * Grows (or shrinks) the child, so a qcow2 image can sit on this filter and allocate: growing
     * is a write to the new tail as far as the rules go (ENOSPC usually comes from there).
     */
    @Override
    public void resize(long newSize) {
        long old = node.file().size();
        if (newSize > old) {
            check(FaultRule.Op.WRITE, old, newSize - old);
        }
        if (node.file().driver() instanceof SupportsResize r) {
            r.resize(newSize);
        } else {
            throw BlockException.unsupported("The file under this fault-injection filter cannot be resized");
        }
    }

    @Override
    public BlockStatus blockStatus(long offset, long bytes) {
        return node.file().blockStatus(offset, bytes);
    }

    @Override
    public void close() {
    }
}
