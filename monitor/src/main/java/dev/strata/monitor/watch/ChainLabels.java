package dev.strata.monitor.watch;

import dev.strata.blockdrv.BlockNode;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The letters of {@code info chain}, kept per node for the machine's lifetime (one instance per
 * {@link WatchCommands}, that is per machine), so a layer keeps its name while the chain changes:
 * the demo's {@code [A] <- ... <- [E]} becomes {@code [A] <- [E]} after a stream, and a
 * snapshot's new top gets the next free letter ({@code F}). The first look names the layers base
 * first. Nodes are held weakly, so a closed and forgotten node does not stay reachable from here.
 *
 * <p>Thread safety: every method takes {@code lock}, which guards {@code labels} and
 * {@code next}; any monitor thread.
 */
final class ChainLabels {

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<BlockNode, String> labels = new WeakHashMap<>();
    private int next;

    /** The labels of {@code baseFirst}, giving new letters to layers seen for the first time (base first). */
    String[] label(List<BlockNode> baseFirst) {
        lock.lock();
        try {
            String[] out = new String[baseFirst.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = labels.computeIfAbsent(baseFirst.get(i), n -> name(next++));
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** A, B, ... Z, then A1, B1, ... */
    static String name(int i) {
        char letter = (char) ('A' + i % 26);
        return i < 26 ? String.valueOf(letter) : letter + Integer.toString(i / 26);
    }
}
