package dev.strata.blockdrv.fault;

import dev.strata.blockdrv.BlockException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One injected failure: requests of {@code op} that touch {@code [offset, offset+length)} fail
 * with {@code kind} (IO = EIO, NO_SPACE = ENOSPC), at most {@code count} times (-1: until removed).
 */
public final class FaultRule {

    /** The operation a rule applies to. */
    public enum Op { READ, WRITE, FLUSH, ANY }

    private final Op op;
    private final long offset;
    private final long length;
    private final BlockException.Kind kind;
    private final AtomicLong remaining;

    public FaultRule(Op op, long offset, long length, BlockException.Kind kind, long count) {
        if (kind != BlockException.Kind.IO && kind != BlockException.Kind.NO_SPACE) {
            throw new IllegalArgumentException("fault kind must be IO or NO_SPACE");
        }
        this.op = op;
        this.offset = offset;
        this.length = length;
        this.kind = kind;
        this.remaining = new AtomicLong(count);
    }

    /** A rule that fails every request of {@code op} anywhere. */
    public static FaultRule everywhere(Op op, BlockException.Kind kind) {
        return new FaultRule(op, 0, Long.MAX_VALUE, kind, -1);
    }

    /** True (and one use consumed) if this rule fails a request of {@code requestOp} over the range. */
    boolean fires(Op requestOp, long off, long len) {
        if (op != Op.ANY && op != requestOp) {
            return false;
        }
        // saturate: a rule "from offset X to the end" is naturally written with length Long.MAX_VALUE
        long end = length > Long.MAX_VALUE - offset ? Long.MAX_VALUE : offset + length;
        boolean overlap = requestOp == Op.FLUSH || (off < end && offset < off + Math.max(len, 1));
        if (!overlap) {
            return false;
        }
        while (true) {
            long r = remaining.get();
            if (r == 0) {
                return false;
            }
            if (r < 0 || remaining.compareAndSet(r, r - 1)) {
                return true;
            }
        }
    }

    boolean exhausted() {
        return remaining.get() == 0;
    }

    BlockException error() {
        return new BlockException(kind, kind.strerror());
    }
}
