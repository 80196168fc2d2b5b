package dev.strata.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RateLimiter limiter = new RateLimiter(now::get);

    @Test
    void unlimitedNeverWaits() {
        assertEquals(0, limiter.consume(1L << 40));
        assertEquals(0, limiter.sliceQuota());
    }

    @Test
    void quotaIsOneTenthOfTheSpeed() {
        limiter.setSpeed(1 << 20);
        assertEquals((1 << 20) / 10, limiter.sliceQuota());
        limiter.setSpeed(5);
        assertEquals(1, limiter.sliceQuota(), "a tiny speed still lets one byte through per slice");
    }

    @Test
    void withinQuotaNoDelayThenWaitsForTheSliceEnd() {
        limiter.setSpeed(1000);   // 100 bytes per slice
        assertEquals(0, limiter.consume(50));
        long d = limiter.consume(50);   // quota reached: wait until the slice ends
        assertEquals(RateLimiter.SLICE_NANOS, d);
        now.addAndGet(RateLimiter.SLICE_NANOS + 1);
        assertEquals(0, limiter.consume(10));
    }

    @Test
    void bigChunkExtendsTheSliceProportionally() {
        limiter.setSpeed(1024);
        long d = limiter.consume(512 * 1024);   // 512 KiB at 1 KiB/s: ~512 s
        assertTrue(Math.abs(d - 512_000_000_000L) < 200_000_000L, "delay " + d);
    }

    @Test
    void averageRateHoldsOverManySlices() {
        limiter.setSpeed(10_000);
        long bytes = 0;
        long start = now.get();
        for (int i = 0; i < 1000; i++) {
            bytes += 700;
            now.addAndGet(limiter.consume(700));
        }
        double seconds = (now.get() - start) / 1e9;
        double rate = bytes / seconds;
        assertTrue(rate > 9_000 && rate < 11_000, "rate " + rate);
    }

    @Test
    void speedChangeTakesEffectAtOnce() {
        limiter.setSpeed(1024);
        assertTrue(limiter.consume(512 * 1024) > 100_000_000_000L);
        limiter.setSpeed(100L << 20);
        assertEquals(0, limiter.consume(64 * 1024), "raising the speed restarts the accounting");
    }
}
