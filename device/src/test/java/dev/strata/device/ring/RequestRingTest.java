package dev.strata.device.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The two rings and the per-head workers under load from many producers. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RequestRingTest {

    @Test
    void shouldCompleteEveryPublishedHeadExactlyOnceWithFewerInterruptsThanCompletions() throws Exception {
        int queue = 64;
        int producers = 8;
        int perProducer = 20_000;
        AtomicIntegerArray outstanding = new AtomicIntegerArray(queue);
        AtomicLong completions = new AtomicLong();
        AtomicLong interrupts = new AtomicLong();
        AtomicLong inFlightMax = new AtomicLong();
        AtomicLong inFlight = new AtomicLong();
        Semaphore[] done = new Semaphore[queue];
        for (int i = 0; i < queue; i++) {
            done[i] = new Semaphore(0);
        }
        HeadWorkers[] workers = new HeadWorkers[1];
        RequestRing[] ring = new RequestRing[1];
        GuestInterrupt irq = new GuestInterrupt() {
            @Override
            public void used(int id, int len) {
                assertEquals(id * 3, len);
                assertEquals(1, outstanding.getAndDecrement(id), "head " + id + " completed twice");
                completions.incrementAndGet();
                done[id].release();
            }

            @Override
            public void interrupt() {
                interrupts.incrementAndGet();
            }
        };
        ring[0] = new RequestRing("test", queue, RingWaitPolicy.BLOCKING, RingThreads.VIRTUAL, (head, end) -> {
            assertTrue(workers[0].dispatch(head), "head " + head + " dispatched while busy");
        }, irq);
        workers[0] = new HeadWorkers("test", queue, head -> {
            long n = inFlight.incrementAndGet();
            inFlightMax.accumulateAndGet(n, Math::max);
            java.util.concurrent.locks.LockSupport.parkNanos(20_000); // a "request" that takes a while
            inFlight.decrementAndGet();
            return head * 3;
        }, ring[0]::complete);
        ring[0].start();
        CountDownLatch finished = new CountDownLatch(producers);
        for (int p = 0; p < producers; p++) {
            int first = p * (queue / producers);
            Thread.ofPlatform().start(() -> {
                // each producer owns queue/producers heads, like vCPUs sharing a virtqueue's descriptors
                for (int i = 0; i < perProducer; i++) {
                    int head = first + i % (queue / producers);
                    if (i >= queue / producers) {
                        done[head].acquireUninterruptibly();
                    }
                    assertEquals(0, outstanding.getAndIncrement(head));
                    ring[0].publish(head);
                }
                for (int h = first; h < first + queue / producers; h++) {
                    done[h].acquireUninterruptibly();
                }
                finished.countDown();
            });
        }
        assertTrue(finished.await(50, TimeUnit.SECONDS));
        workers[0].close();
        ring[0].close();
        assertEquals((long) producers * perProducer, completions.get());
        assertTrue(interrupts.get() < completions.get(), "completions were batched: " + interrupts + " interrupts");
        assertTrue(inFlightMax.get() > 1, "requests overlapped (max in flight " + inFlightMax + ")");
    }

    @Test
    void workerShouldRefuseAHeadThatIsStillRunning() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch completed = new CountDownLatch(1);
        HeadWorkers w = new HeadWorkers("t", 4, h -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 1;
        }, (h, len) -> completed.countDown());
        assertTrue(w.dispatch(2));
        assertTrue(w.isBusy(2));
        assertEquals(false, w.dispatch(2));
        release.countDown();
        assertTrue(completed.await(10, TimeUnit.SECONDS));
        w.close();
    }
}
