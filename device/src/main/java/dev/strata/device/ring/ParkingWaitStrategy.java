package dev.strata.device.ring;

import com.lmax.disruptor.AlertException;
import com.lmax.disruptor.Sequence;
import com.lmax.disruptor.SequenceBarrier;
import com.lmax.disruptor.WaitStrategy;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A blocking Disruptor wait strategy for a ring with exactly one consumer, built on
 * {@link LockSupport#park} instead of a monitor or a {@code Condition}: a virtual-thread consumer
 * never pins its carrier (monitors do before JDK 24), and waiting allocates nothing (a
 * {@code Condition} allocates a node per wait). Like Disruptor's {@code LiteBlockingWaitStrategy},
 * a publisher only wakes the consumer when it said it is about to sleep, so a busy ring costs
 * publishers one atomic read.
 *
 * <p>Thread safety: one consumer thread calls {@link #waitFor} (it records itself in
 * {@code sleeper}); any number of producers call {@link #signalAllWhenBlocking}. The hand-shake is
 * the usual one: the consumer raises {@code signalNeeded} and re-reads the cursor before parking,
 * a producer moves the cursor before clearing {@code signalNeeded}, so one of them sees the other.
 */
final class ParkingWaitStrategy implements WaitStrategy {

    private final AtomicBoolean signalNeeded = new AtomicBoolean();
    private volatile Thread sleeper;

    @Override
    public long waitFor(long sequence, Sequence cursor, Sequence dependentSequence, SequenceBarrier barrier)
            throws AlertException, InterruptedException {
        if (cursor.get() < sequence) {
            sleeper = Thread.currentThread();
            while (true) {
                signalNeeded.set(true);
                if (cursor.get() >= sequence) {
                    break;
                }
                barrier.checkAlert();
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        }
        long available;
        while ((available = dependentSequence.get()) < sequence) {
            barrier.checkAlert();
            Thread.onSpinWait();
        }
        return available;
    }

    @Override
    public void signalAllWhenBlocking() {
        if (signalNeeded.getAndSet(false)) {
            Thread t = sleeper;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }
}
