package dev.strata.monitor.watch;

import dev.strata.blockdrv.BlockNode;
import dev.strata.monitor.Machine;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The letters of {@code info chain}, kept per node for the machine's lifetime, so a layer keeps
 * its name while the chain changes: the demo's {@code [A] <- ... <- [E]} becomes
 * {@code [A] <- [E]} after a stream, and a snapshot's new top gets the next free letter
 * ({@code F}). The first look names the layers base first. Nodes are held weakly; closed ones
 * drop out.
 *
 * <p>Thread safety: every method takes {@code LOCK}; any monitor thread.
 */
final class ChainLabels {

    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final Map<Machine, ChainLabels> BY_MACHINE = new WeakHashMap<>();

    private final Map<BlockNode, String> labels = new WeakHashMap<>();
    private int next;

    private ChainLabels() {
    }

    static ChainLabels of(Machine machine) {
        LOCK.lock();
        try {
            return BY_MACHINE.computeIfAbsent(machine, m -> new ChainLabels());
        } finally {
            LOCK.unlock();
        }
    }

    /** The labels of {@code baseFirst}, giving new letters to layers seen for the first time (base first). */
    String[] label(List<BlockNode> baseFirst) {
        LOCK.lock();
        try {
            String[] out = new String[baseFirst.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = labels.computeIfAbsent(baseFirst.get(i), n -> name(next++));
            }
            return out;
        } finally {
            LOCK.unlock();
        }
    }

    /** A, B, ... Z, then A1, B1, ... */
    static String name(int i) {
        char letter = (char) ('A' + i % 26);
        return i < 26 ? String.valueOf(letter) : letter + Integer.toString(i / 26);
    }
}
