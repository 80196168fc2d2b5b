package dev.strata.harness.net;

import java.time.Duration;

/**
 * How a {@link TwoHostLink} is shaped.
 *
 * @param bitsPerSecond rate limit on each veth end ({@code tbf}); 0 leaves the link unshaped
 * @param delayEachWay  one-way delay added to every byte in each direction; zero adds none
 */
public record LinkShape(long bitsPerSecond, Duration delayEachWay) {

    /** No rate limit, no delay. */
    public static final LinkShape UNSHAPED = new LinkShape(0, Duration.ZERO);

    public LinkShape {
        if (bitsPerSecond < 0 || delayEachWay.isNegative()) {
            throw new IllegalArgumentException("link shape: rate and delay must be >= 0");
        }
    }

    /** {@code mbit} Mbit/s with {@code delayMs} each way. */
    public static LinkShape of(long mbit, long delayMs) {
        return new LinkShape(mbit * 1_000_000L, Duration.ofMillis(delayMs));
    }

    /** A short label, e.g. {@code 1000 Mbit/s, 5 ms each way}. */
    public String label() {
        String rate = bitsPerSecond == 0 ? "unlimited" : (bitsPerSecond / 1_000_000) + " Mbit/s";
        return rate + ", " + delayEachWay.toMillis() + " ms each way";
    }
}
