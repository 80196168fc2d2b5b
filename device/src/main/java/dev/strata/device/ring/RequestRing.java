package dev.strata.device.ring;

import com.lmax.disruptor.BatchEventProcessor;
import com.lmax.disruptor.BatchEventProcessorBuilder;
import com.lmax.disruptor.ExceptionHandler;
import com.lmax.disruptor.PhasedBackoffWaitStrategy;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.WaitStrategy;
import java.util.concurrent.TimeUnit;

/**
 * One virtqueue's two rings, both LMAX Disruptor ring buffers of preallocated slots:
 *
 * <pre>
 *  guest threads --publish(head)--> [avail ring] --> iothread: RequestHandler.onAvail(head, endOfBatch)
 *                                                         (parses, hands the head to a worker)
 *  worker threads --complete(id,len)--> [used ring] --> interrupt thread: GuestInterrupt.used(..)...,
 *                                                        then interrupt() once per batch
 * </pre>
 *
 * Both rings are multi-producer (many vCPU threads publish; many request workers complete) and
 * sized to the queue, which bounds what can be outstanding: a slot is free again as soon as its
 * consumer passed it, so neither producer ever waits on a correct guest.
 *
 * <p>Thread safety: {@link #publish} and {@link #complete} from any thread once {@link #start()}ed;
 * start/close from the control thread. Handler exceptions are logged here (the ring's exception
 * handler is the one logging catch site) and the ring carries on.
 */
public final class RequestRing implements AvailRing, AutoCloseable {

    /** The device side: receives each published head on the iothread. */
    @FunctionalInterface
    public interface RequestHandler {
        void onAvail(int head, boolean endOfBatch);
    }

    private static final System.Logger LOG = System.getLogger(RequestRing.class.getName());

    private final int size;
    private final RingBuffer<AvailEntry> avail;
    private final RingBuffer<UsedEntry> used;
    private final BatchEventProcessor<AvailEntry> availProcessor;
    private final BatchEventProcessor<UsedEntry> usedProcessor;
    private final Thread iothread;
    private final Thread irqThread;
    private volatile boolean closed;

    public RequestRing(String name, int queueSize, RingWaitPolicy wait, RingThreads threads, RequestHandler handler,
                       GuestInterrupt irq) {
        if (queueSize < 2 || Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("queue size must be a power of two >= 2, not " + queueSize);
        }
        this.size = queueSize;
        avail = RingBuffer.createMultiProducer(AvailEntry::new, queueSize, waitStrategy(wait));
        used = RingBuffer.createMultiProducer(UsedEntry::new, queueSize, waitStrategy(wait));
        availProcessor = new BatchEventProcessorBuilder().build(avail, avail.newBarrier(),
                (AvailEntry e, long seq, boolean end) -> handler.onAvail(e.head, end));
        usedProcessor = new BatchEventProcessorBuilder().build(used, used.newBarrier(),
                (UsedEntry e, long seq, boolean end) -> {
                    irq.used(e.id, e.len);
                    if (end) {
                        irq.interrupt();
                    }
                });
        availProcessor.setExceptionHandler(new LoggingHandler<>(name + " request"));
        usedProcessor.setExceptionHandler(new LoggingHandler<>(name + " completion"));
        avail.addGatingSequences(availProcessor.getSequence());
        used.addGatingSequences(usedProcessor.getSequence());
        Thread.Builder b = threads == RingThreads.VIRTUAL ? Thread.ofVirtual() : Thread.ofPlatform().daemon();
        iothread = b.name("iothread-" + name).unstarted(availProcessor);
        irqThread = b.name("irq-" + name).unstarted(usedProcessor);
    }

    private static WaitStrategy waitStrategy(RingWaitPolicy p) {
        return switch (p) {
            // "lite": a publisher signals only when the consumer really sleeps, not on every publish
            case BLOCKING -> new ParkingWaitStrategy();
            case SPIN_THEN_BLOCK -> new PhasedBackoffWaitStrategy(20, 100, TimeUnit.MICROSECONDS, new ParkingWaitStrategy());
        };
    }

    public void start() {
        irqThread.start();
        iothread.start();
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void publish(int head) {
        if (closed) {
            throw new IllegalStateException("queue is closed");
        }
        long seq = avail.next();
        avail.get(seq).head = head;
        avail.publish(seq);
    }

    /** Puts a finished request on the used ring; the interrupt thread tells the guest. Any thread. */
    public void complete(int id, int len) {
        long seq = used.next();
        UsedEntry e = used.get(seq);
        e.id = id;
        e.len = len;
        used.publish(seq);
    }

    /** Stops both ring threads after they drained what was published; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        drainThenHalt(avail, availProcessor, iothread);
        drainThenHalt(used, usedProcessor, irqThread);
    }

    private static void drainThenHalt(RingBuffer<?> ring, BatchEventProcessor<?> p, Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (p.getSequence().get() < ring.getCursor() && System.nanoTime() < deadline && t.isAlive()) {
            Thread.onSpinWait();
            Thread.yield();
        }
        p.halt();
        try {
            t.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private record LoggingHandler<T>(String what) implements ExceptionHandler<T> {
        @Override
        public void handleEventException(Throwable ex, long sequence, T event) {
            LOG.log(System.Logger.Level.ERROR, what + " handler failed at sequence " + sequence, ex);
        }

        @Override
        public void handleOnStartException(Throwable ex) {
            LOG.log(System.Logger.Level.ERROR, what + " ring failed to start", ex);
        }

        @Override
        public void handleOnShutdownException(Throwable ex) {
            LOG.log(System.Logger.Level.ERROR, what + " ring failed to shut down", ex);
        }
    }
}
