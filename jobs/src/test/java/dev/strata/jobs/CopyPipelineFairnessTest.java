package dev.strata.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pipeline's fairness rule, driven by a fake guest-activity counter (behaviour, not timing). */
@Timeout(60)
class CopyPipelineFairnessTest {

    private static final int DEPTH = 4;

    @Test
    void anIdleGuestLetsCopiesRunAtFullDepthWithoutRests() throws Exception {
        // every copy waits until all DEPTH copies are running at once: only a full-depth pipeline gets through
        CountDownLatch allIn = new CountDownLatch(DEPTH);
        AtomicInteger completed = new AtomicInteger();
        CopyPipeline p = new CopyPipeline(DEPTH, (off, n) -> {
            allIn.countDown();
            await(allIn);
        }, b -> completed.incrementAndGet(), () -> 0L);
        for (int i = 0; i < DEPTH; i++) {
            p.submit(i, 1);
        }
        p.awaitIdle();
        assertEquals(DEPTH, completed.get());
        assertTrue(p.drainFailures().isEmpty(), "no copy timed out waiting for the others");
        CopyPipeline.Yielding y = p.yielding();
        assertEquals(DEPTH, y.maxInFlight());
        assertEquals(0, y.busyCopies());
        assertEquals(0, y.restNanos());
    }

    @Test
    void aBusyGuestGetsOneCopyAtATimeAndRestsBetweenThem() {
        AtomicLong guest = new AtomicLong();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger mostRunning = new AtomicInteger();
        // the guest issues plenty of requests between any two looks at its counter
        CopyPipeline p = new CopyPipeline(DEPTH, (off, n) -> {
            mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            sleepMs(2);
            running.decrementAndGet();
        }, b -> { }, () -> guest.addAndGet(1000));
        for (int i = 0; i < 20; i++) {
            p.submit(i, 1);
        }
        p.awaitIdle();
        assertEquals(1, mostRunning.get(), "copies ran side by side while the guest was busy");
        CopyPipeline.Yielding y = p.yielding();
        assertEquals(1, y.maxInFlight());
        assertEquals(20, y.busyCopies());
        // each copy took >= 2 ms, so at the default duty cycle each rest is >= 2 ms * 0.6 / 0.4
        assertTrue(y.restNanos() >= 20 * TimeUnit.MILLISECONDS.toNanos(2) * (1 - GuestYield.BUSY_DUTY) / GuestYield.BUSY_DUTY,
                "rests: " + y.restNanos());
    }

    @Test
    void aGuestThatGoesQuietGetsTheFullDepthBack() throws Exception {
        AtomicLong guest = new AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean guestBusy = new java.util.concurrent.atomic.AtomicBoolean(true);
        CountDownLatch allIn = new CountDownLatch(DEPTH);
        CopyPipeline p = new CopyPipeline(DEPTH, (off, n) -> {
            if (off >= 100) {
                allIn.countDown();
                await(allIn);
            }
        }, b -> { }, () -> guestBusy.get() ? guest.addAndGet(1000) : guest.get());
        for (int i = 0; i < 5; i++) {
            p.submit(i, 1);
        }
        p.awaitIdle();
        assertEquals(1, p.yielding().maxInFlight());
        guestBusy.set(false);
        // within a sampling window or two the pipeline sees the quiet guest and opens up again
        for (int i = 0; i < DEPTH; i++) {
            p.submit(100 + i, 1);
        }
        p.awaitIdle();
        assertTrue(p.drainFailures().isEmpty());
        assertEquals(DEPTH, p.yielding().maxInFlight());
    }

    @Test
    void aTrickleOfGuestRequestsDoesNotCountAsBusy() {
        GuestYield y = new GuestYield(new AtomicLong()::incrementAndGet, 1, 0.5);
        long t = System.nanoTime();
        // one request per look, one look per window: far below the busy threshold
        for (int i = 0; i < 5; i++) {
            t += GuestYield.WINDOW_NANOS;
            assertEquals(false, y.guestBusy(t));
        }
        assertEquals(4, y.depth(4, false));
        assertEquals(1, y.depth(4, true));
        assertEquals(1_000_000, y.restAfter(1_000_000, true));
        assertEquals(0, y.restAfter(1_000_000, false));
    }

    private static void await(CountDownLatch l) {
        try {
            if (!l.await(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the other copies never started");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
