package dev.strata.harness.guest;

import java.util.Arrays;

/**
 * What one sector may hold: the guest's writes to it that are not yet ruled out, each with the
 * logical times it was submitted ({@code seq}), acknowledged ({@code ackAt}) and superseded
 * ({@code removedAt}). Rules (times from one clock): write W, once acknowledged, supersedes every
 * entry acknowledged before W was submitted (the device must have applied those first); entries
 * still in flight or acknowledged after W's submission stay possible (concurrent writes may land in
 * either order). A failed write supersedes nothing and stays possible until superseded itself.
 * The sector's original content is the implicit entry with seq 0, acknowledged at time 0.
 *
 * <p>Not thread-safe: guarded by its chunk's lock in {@link Verifier}.
 */
final class SectorHistory {

    static final long NONE = Long.MAX_VALUE;

    long[] seq = new long[2];
    long[] ackAt = new long[2];
    long[] removedAt = new long[2];
    int n;
    /** When the original content was superseded, or NONE. */
    long baselineRemovedAt = NONE;

    void add(long s) {
        if (n == seq.length) {
            seq = Arrays.copyOf(seq, n * 2);
            ackAt = Arrays.copyOf(ackAt, n * 2);
            removedAt = Arrays.copyOf(removedAt, n * 2);
        }
        seq[n] = s;
        ackAt[n] = NONE;
        removedAt[n] = NONE;
        n++;
    }

    int indexOf(long s) {
        for (int i = n - 1; i >= 0; i--) {
            if (seq[i] == s) {
                return i;
            }
        }
        return -1;
    }

    /** Write {@code s} was acknowledged at {@code now}: supersede what it must. */
    void acked(long s, long now) {
        int idx = indexOf(s);
        if (idx < 0) {
            return;
        }
        ackAt[idx] = now;
        if (baselineRemovedAt == NONE) {
            baselineRemovedAt = now;
        }
        for (int i = 0; i < n; i++) {
            if (i != idx && removedAt[i] == NONE && ackAt[i] < s) {
                removedAt[i] = now;
            }
        }
    }

    /** Write {@code s} failed at {@code now}: the sector may hold it, or whatever it held. */
    void failed(long s, long now) {
        int idx = indexOf(s);
        if (idx >= 0) {
            ackAt[idx] = now;
        }
    }

    /** Drops entries superseded before {@code horizon}: no read or crash check can accept them any more. */
    void prune(long horizon) {
        int w = 0;
        for (int i = 0; i < n; i++) {
            if (removedAt[i] == NONE || removedAt[i] >= horizon) {
                seq[w] = seq[i];
                ackAt[w] = ackAt[i];
                removedAt[w] = removedAt[i];
                w++;
            }
        }
        n = w;
    }

    /** Index of entry {@code s} if it was possible at some time after {@code since}; -1 otherwise. */
    int acceptable(long s, long since) {
        int idx = indexOf(s);
        return idx >= 0 && (removedAt[idx] == NONE || removedAt[idx] > since) ? idx : -1;
    }

    boolean baselineAcceptable(long since) {
        return baselineRemovedAt == NONE || baselineRemovedAt > since;
    }

    /** The newest acknowledged entry's seq (what a reader would most expect), or 0 for the original content. */
    long newestAcked() {
        long best = 0;
        long bestAck = -1;
        for (int i = 0; i < n; i++) {
            if (ackAt[i] != NONE && ackAt[i] > bestAck && removedAt[i] == NONE) {
                best = seq[i];
                bestAck = ackAt[i];
            }
        }
        return best;
    }
}
