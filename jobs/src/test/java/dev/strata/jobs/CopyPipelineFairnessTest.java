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
    void aHeavyGuestGetsOneCopyAtATimeAndRestsBetweenThem() {
        AtomicLong guest = new AtomicLong();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger mostRunning = new AtomicInteger();
        // a guest running flat out: more requests between any two looks than a heavy window holds
        CopyPipeline p = new CopyPipeline(DEPTH, (off, n) -> {
            mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            sleepMs(2);
            running.decrementAndGet();
        }, b -> { }, () -> guest.addAndGet(1_000_000));
        for (int i = 0; i < 20; i++) {
            p.submit(i, 1);
        }
        p.awaitIdle();
        assertTrue(mostRunning.get() <= DEPTH / 2, "copies ran at full depth while the guest was busy: " + mostRunning.get());
        CopyPipeline.Yielding y = p.yielding();
        assertTrue(y.maxInFlight() <= DEPTH / 2);
        assertTrue(y.busyCopies() >= 20 - DEPTH, "copies followed by a rest: " + y.busyCopies());
        // each copy took >= 2 ms, so at the default duty cycle each rest is >= 2 ms * 0.6 / 0.4
        assertTrue(y.restNanos() >= y.busyCopies() * TimeUnit.MILLISECONDS.toNanos(2) * (1 - GuestYield.BUSY_DUTY) / GuestYield.BUSY_DUTY,
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
        }, b -> { }, () -> guestBusy.get() ? guest.addAndGet(1_000_000) : guest.get());
        for (int i = 0; i < 5; i++) {
            p.submit(i, 1);
        }
        p.awaitIdle();
        assertTrue(p.yielding().maxInFlight() <= DEPTH / 2);
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
    void aSilentGuestIsJudgedIdleAfterTheShortProbeNotAfterAWholeWindow() {
        AtomicLong guest = new AtomicLong();
        // times read before the constructor reads its own clock, so a descheduled test thread
        // cannot make "now" look later than meant; 10 ms of slack past the probe, still inside the window
        long t = System.nanoTime();
        GuestYield y = new GuestYield(guest::get, 1, 0.5);
        long afterProbe = t + GuestYield.PROBE_NANOS + 10_000_000L;
        assertTrue(afterProbe - t < GuestYield.WINDOW_NANOS);
        assertEquals(GuestYield.Level.HEAVY, y.level(t), "one copy at a time while probing");
        assertEquals(0, y.restAfter(1_000_000, GuestYield.Level.HEAVY), "no rests while probing");
        assertTrue(y.recheckNanos(System.nanoTime()) <= GuestYield.PROBE_NANOS, "a held-back copy looks again when the probe ends");
        assertEquals(GuestYield.Level.IDLE, y.level(afterProbe), "idle before a whole window has passed");
        assertEquals(GuestYield.WINDOW_NANOS, y.recheckNanos(afterProbe));

        // a guest that starts a request during the probe keeps the pipeline heavy, rests included
        long u = System.nanoTime();
        GuestYield z = new GuestYield(guest::get, 1, 0.5);
        guest.incrementAndGet();
        assertEquals(GuestYield.Level.HEAVY, z.level(u + GuestYield.PROBE_NANOS + 1));
        assertEquals(1_000_000, z.restAfter(1_000_000, GuestYield.Level.HEAVY));
    }

    @Test
    void theLevelFollowsTheGuestsRateStartingHeavy() {
        AtomicLong guest = new AtomicLong();
        GuestYield y = new GuestYield(guest::get, 1, 0.5);
        long w = GuestYield.WINDOW_NANOS;
        long heavy = GuestYield.HEAVY_IOPS * w / 1_000_000_000L;
        long light = GuestYield.LIGHT_IOPS * w / 1_000_000_000L;
        long t = System.nanoTime();
        // yields first, until a whole window has shown the guest's rate
        assertEquals(GuestYield.Level.HEAVY, y.level(t));
        // a trickle: one request per window
        for (int i = 0; i < 3; i++) {
            guest.addAndGet(1);
            t += w;
            assertEquals(GuestYield.Level.IDLE, y.level(t));
        }
        // a rate of its own, under the heavy mark: moderate
        guest.addAndGet(light);
        t += w;
        assertEquals(GuestYield.Level.MODERATE, y.level(t));
        // flat out: heavy at once, within the window
        guest.addAndGet(heavy);
        assertEquals(GuestYield.Level.HEAVY, y.level(t + 1));
        t += w;
        assertEquals(GuestYield.Level.HEAVY, y.level(t));
        // slowed below the heavy rate but not below the light one: still heavy
        guest.addAndGet((heavy + light) / 2);
        t += w;
        assertEquals(GuestYield.Level.HEAVY, y.level(t));
        // below the light rate: moderate; two windows without a look count as one long window
        guest.addAndGet(light / 2);
        t += w;
        assertEquals(GuestYield.Level.MODERATE, y.level(t));
        guest.addAndGet(heavy);
        t += 3 * w;
        assertEquals(GuestYield.Level.MODERATE, y.level(t), "a third of the heavy rate over three windows");
        t += w;
        assertEquals(GuestYield.Level.IDLE, y.level(t));

        assertEquals(8, y.depth(8, GuestYield.Level.IDLE));
        assertEquals(2, y.depth(8, GuestYield.Level.MODERATE));
        assertEquals(1, y.depth(8, GuestYield.Level.HEAVY));
        assertEquals(1_000_000, y.restAfter(1_000_000, GuestYield.Level.HEAVY));
        assertEquals(0, y.restAfter(1_000_000, GuestYield.Level.MODERATE));
        assertEquals(0, y.restAfter(1_000_000, GuestYield.Level.IDLE));
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
