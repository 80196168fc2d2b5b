package dev.strata.harness.guest;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The guest's crash journal ({@code -guest ...,verify=on,journal=FILE}): a text file that lists,
 * once a flush has completed, every write that ended before that flush was submitted. A judge in
 * another process reads it after the machine was killed to know which writes the guest was
 * promised durable. Format (one record a line, numbers in decimal):
 *
 * <pre>
 *   # strata crash journal v1 drive=virtio0 tag=0x1a2b3c4d
 *   A lba sectors seq endAt      an acknowledged write, durable since a later flush completed
 *   F lba sectors seq endAt      a failed write (it may or may not have landed; it supersedes nothing)
 * </pre>
 *
 * {@code seq} and {@code endAt} are times of the verifier's clock ({@link SectorHistory}'s rules):
 * a durable write W replaces every write that ended before W's {@code seq}. A record is written
 * only after its flush completed, so the journal never claims more than the guest was promised;
 * a kill between two records loses only claims. Records come in {@code endAt} order, so a cut-off
 * journal still lists every write that ended before the last write it names. Plain buffered
 * appends suffice: a process killed with SIGKILL leaves what it wrote in the page cache.
 *
 * <p>Thread safety: any thread; {@code lock} guards the pending list and the writer and is held
 * around the clock tick of each write's end and each flush's start, so that a flush's clock
 * separates exactly the writes that ended before it.
 */
public final class CrashJournal implements AutoCloseable {

    private record Pending(boolean ok, long lba, int sectors, long seq, long endAt) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final List<Pending> pending = new ArrayList<>();
    private final BufferedWriter out;
    private boolean closed;

    private CrashJournal(BufferedWriter out) {
        this.out = out;
    }

    /** Creates (truncates) {@code file} and writes the header for {@code drive}'s stamps of run {@code tag}. */
    static CrashJournal create(Path file, String drive, int tag) {
        try {
            BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            w.write(String.format(Locale.ROOT, "# strata crash journal v1 drive=%s tag=0x%08x%n", drive, tag));
            w.flush();
            return new CrashJournal(w);
        } catch (IOException e) {
            throw new IllegalArgumentException("guest workload: cannot write journal '" + file + "': " + e.getMessage());
        }
    }

    /** A write ended: ticks {@code clock} and remembers it until a flush covers it; returns the tick. */
    long writeEnded(AtomicLong clock, long lba, int sectors, long seq, boolean ok) {
        lock.lock();
        try {
            long now = clock.incrementAndGet();
            pending.add(new Pending(ok, lba, sectors, seq, now));
            return now;
        } finally {
            lock.unlock();
        }
    }

    /** A flush is submitted: ticks {@code clock} with no write ending in between; returns the tick. */
    long flushBegins(AtomicLong clock) {
        lock.lock();
        try {
            return clock.incrementAndGet();
        } finally {
            lock.unlock();
        }
    }

    /** The flush begun at {@code flushClock} completed: journals every write that ended before it. */
    void flushed(long flushClock) {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            int done = 0;
            // pending is in endAt order (appended under the lock that ticks the clock)
            while (done < pending.size() && pending.get(done).endAt() < flushClock) {
                Pending p = pending.get(done++);
                out.write((p.ok() ? "A " : "F ") + p.lba() + ' ' + p.sectors() + ' ' + p.seq() + ' ' + p.endAt() + '\n');
            }
            pending.subList(0, done).clear();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("crash journal: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                out.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            lock.unlock();
        }
    }
}
