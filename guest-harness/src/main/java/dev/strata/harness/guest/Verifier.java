package dev.strata.harness.guest;

import dev.strata.device.GuestMemory;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The guest's judge of "nothing lost" for one disk: stamps every sector written
 * ({@link SectorStamp}), keeps a shadow map of what each sector may hold ({@link SectorHistory}),
 * checks every read, and re-reads everything at the end. Sectors never written must still hold
 * what they held at the start: their hash is taken from a baseline read of each 1 MiB chunk before
 * the first workload touches it.
 *
 * <p>Durability: a flush submitted at clock {@code f} that completes makes every write acknowledged
 * before {@code f} durable. {@link #verify(GuestDisk, boolean)} with {@code afterCrash} accepts what
 * a crash may legally leave: anything not superseded by a durable write.
 *
 * <p>Failures are loud: each is logged at ERROR as {@code VERIFY FAILURE <drive> lba N ...}, counted,
 * and the first {@link #MAX_REPORTED} kept for the report.
 *
 * <p>Thread safety: any number of workload threads. Each 1 MiB chunk's baseline and histories are
 * guarded by the chunk's lock; the clock, counters and reader table are atomics.
 */
public final class Verifier {

    /** Most failures kept in a report (all are counted and logged). */
    public static final int MAX_REPORTED = 200;
    /** Largest disk region a verifier covers (shadow state is kept in memory). */
    public static final long MAX_VERIFIED_BYTES = 1L << 30;

    static final int CHUNK_SECTORS = 2048;
    private static final int CHUNK_BYTES = CHUNK_SECTORS * SectorStamp.SECTOR;
    private static final int MAX_READERS = 4096;
    private static final System.Logger LOG = System.getLogger(Verifier.class.getName());

    private final String drive;
    private final GuestMemory mem;
    private final int tag = ThreadLocalRandom.current().nextInt() | 1;
    private final AtomicLong clock = new AtomicLong();
    private final Chunk[] chunks;
    private final AtomicLongArray activeReads = new AtomicLongArray(MAX_READERS);
    private final AtomicInteger readers = new AtomicInteger();
    private final AtomicLong durableFrontier = new AtomicLong();
    private final AtomicLong ackedWrites = new AtomicLong();
    private final AtomicLong durableWrites = new AtomicLong();
    private final AtomicLong coveredBytes = new AtomicLong();
    private final ReentrantLock failLock = new ReentrantLock();
    private final List<VerifyFailure> failures = new ArrayList<>();
    private final Map<VerifyFailure.Kind, Long> counts = new EnumMap<>(VerifyFailure.Kind.class);
    private final ReentrantLock baselineLock = new ReentrantLock();
    private volatile boolean keepCrashHistory;
    private volatile CrashJournal journal;
    private java.nio.file.Path journalFile;

    private static final class Chunk {
        final ReentrantLock lock = new ReentrantLock();
        final long[] baseline = new long[CHUNK_SECTORS];
        final SectorHistory[] history = new SectorHistory[CHUNK_SECTORS];
    }

    public Verifier(String drive, GuestMemory mem, long capacityBytes) {
        this.drive = drive;
        this.mem = mem;
        this.chunks = new Chunk[(int) ((capacityBytes / SectorStamp.SECTOR + CHUNK_SECTORS - 1) / CHUNK_SECTORS)];
        for (int i = 0; i < MAX_READERS; i++) {
            activeReads.set(i, SectorHistory.NONE);
        }
    }

    public String drive() {
        return drive;
    }

    /**
     * Records the original content of every chunk of {@code [offset, offset+length)} not yet
     * covered, reading it through {@code disk} with {@code buf} (at least 1 MiB). Call before any
     * workload writes there.
     */
    public void prepare(GuestDisk disk, long offset, long length, GuestBuffer buf) {
        if (buf.length() < CHUNK_BYTES) {
            throw new IllegalArgumentException("baseline buffer must be at least " + CHUNK_BYTES + " bytes");
        }
        baselineLock.lock();
        try {
            int first = (int) (offset / CHUNK_BYTES);
            int last = (int) Math.min(chunks.length - 1, (offset + length - 1) / CHUNK_BYTES);
            for (int c = first; c <= last; c++) {
                if (chunks[c] != null) {
                    continue;
                }
                if (coveredBytes.get() + CHUNK_BYTES > MAX_VERIFIED_BYTES) {
                    throw new IllegalArgumentException("verify=on covers at most 1G of " + drive + "; narrow size=");
                }
                long at = (long) c * CHUNK_BYTES;
                int len = (int) Math.min(CHUNK_BYTES, disk.capacity() - at);
                IoResult r = disk.read(at, buf.slice(0, len));
                if (r != IoResult.OK) {
                    throw new IllegalStateException(drive + ": baseline read at " + at + " failed: " + r);
                }
                Chunk ch = new Chunk();
                for (int s = 0; s < len / SectorStamp.SECTOR; s++) {
                    ch.baseline[s] = SectorStamp.hash(mem, buf.address() + (long) s * SectorStamp.SECTOR);
                }
                chunks[c] = ch;
                coveredBytes.addAndGet(CHUNK_BYTES);
            }
        } finally {
            baselineLock.unlock();
        }
    }

    /** A slot for a thread that reads (one outstanding read per slot). */
    public int registerReader() {
        int r = readers.getAndIncrement();
        if (r >= MAX_READERS) {
            throw new IllegalStateException("too many verifying threads on " + drive);
        }
        return r;
    }

    // ---- writes ------------------------------------------------------------------------------

    /** Stamps {@code buf} for a write at {@code offset} and records it as in flight; returns its seq. */
    public long beginWrite(long offset, GuestBuffer buf) {
        long seq = clock.incrementAndGet();
        long lba = offset / SectorStamp.SECTOR;
        int sectors = buf.length() / SectorStamp.SECTOR;
        for (int i = 0; i < sectors; i++) {
            SectorStamp.stamp(mem, buf.address() + (long) i * SectorStamp.SECTOR, tag, lba + i, seq);
        }
        forEachSector(lba, sectors, h -> h.add(seq));
        return seq;
    }

    /** The write {@code seq} completed ({@code ok}) or failed. */
    public void endWrite(long offset, int length, long seq, boolean ok) {
        // the clock moves before readers are scanned: see beginRead for why that order matters
        CrashJournal j = journal;
        long now = j != null ? j.writeEnded(clock, offset / SectorStamp.SECTOR, length / SectorStamp.SECTOR, seq, ok)
                : clock.incrementAndGet();
        long horizon = keepCrashHistory ? Math.min(oldestActiveRead(), durableFrontier.get()) : oldestActiveRead();
        if (ok) {
            ackedWrites.incrementAndGet();
        }
        forEachSector(offset / SectorStamp.SECTOR, length / SectorStamp.SECTOR, h -> {
            if (ok) {
                h.acked(seq, now);
            } else {
                h.failed(seq, now);
            }
            h.prune(horizon);
        });
    }

    // ---- flushes -------------------------------------------------------------------------------

    /** A flush about to be submitted: its clock and how many writes were acknowledged before it. */
    public record Flush(long clock, long ackedBefore) {
    }

    /** A flush is being submitted; pass the result to {@link #endFlush}. */
    public Flush beginFlush() {
        long acked = ackedWrites.get();
        CrashJournal j = journal;
        return new Flush(j != null ? j.flushBegins(clock) : clock.incrementAndGet(), acked);
    }

    /** The flush completed ({@code ok}): writes acknowledged before it began are durable. */
    public void endFlush(Flush f, boolean ok) {
        if (ok) {
            durableFrontier.accumulateAndGet(f.clock(), Math::max);
            durableWrites.accumulateAndGet(f.ackedBefore(), Math::max);
            CrashJournal j = journal;
            if (j != null) {
                j.flushed(f.clock());
            }
        }
    }

    /**
     * Journals this disk's flushed writes to {@code file} from now on (see {@link CrashJournal});
     * the first call wins, later ones with the same file are no-ops. Call before the disk's
     * workloads write.
     */
    public void journalTo(java.nio.file.Path file) {
        baselineLock.lock();
        try {
            if (journal == null) {
                journal = CrashJournal.create(file, drive, tag);
                journalFile = file;
            } else if (!journalFile.equals(file)) {
                throw new IllegalArgumentException("guest workload: drive " + drive + " already journals to " + journalFile);
            }
        } finally {
            baselineLock.unlock();
        }
    }

    /** Closes the crash journal, if any (what was journaled stays). */
    public void closeJournal() {
        CrashJournal j = journal;
        if (j != null) {
            j.close();
        }
    }

    /**
     * Keeps superseded writes until a flush makes their successors durable, so
     * {@code verify(.., afterCrash=true)} can judge a disk after a crash. Costs memory on hot
     * sectors when the workload never flushes; off by default.
     */
    public void keepCrashHistory(boolean keep) {
        this.keepCrashHistory = keep;
    }

    /** Writes acknowledged so far (count). */
    public long acknowledgedWrites() {
        return ackedWrites.get();
    }

    /** Writes acknowledged before a flush that then completed: durable across a crash. */
    public long durableWrites() {
        return durableWrites.get();
    }

    // ---- reads ---------------------------------------------------------------------------------

    /** Marks the start of a read by {@code reader}; returns the read's clock for {@link #checkRead}. */
    public long beginRead(int reader) {
        // Register as "reading since the dawn of time" first, then take the clock: a pruner that
        // scanned before the registration moved the clock before scanning, so anything it prunes
        // was superseded at or before our clock value and is no valid read result anyway.
        activeReads.set(reader, 0);
        long r = clock.get();
        activeReads.set(reader, r);
        return r;
    }

    /** The read begun by {@code reader} failed: nothing to check. */
    public void abandonRead(int reader) {
        activeReads.set(reader, SectorHistory.NONE);
    }

    /**
     * Checks the sectors a read at {@code offset} brought into {@code buf} against what they may
     * hold; returns the number of failures (each logged and recorded).
     */
    public int checkRead(int reader, long since, long offset, GuestBuffer buf) {
        try {
            return check(offset / SectorStamp.SECTOR, buf.length() / SectorStamp.SECTOR, buf.address(), since);
        } finally {
            activeReads.set(reader, SectorHistory.NONE);
        }
    }

    /**
     * Reads back every covered chunk through {@code disk} (no workload may run) and checks every
     * sector; with {@code afterCrash}, accepts anything a crash may leave (writes not yet durable may
     * be missing).
     */
    public VerifyReport verify(GuestDisk disk, GuestBuffer buf, boolean afterCrash) {
        if (afterCrash && !keepCrashHistory) {
            throw new IllegalStateException("crash verification needs keepCrashHistory(true) from the start");
        }
        long checked = 0;
        long since = afterCrash ? durableFrontier.get() : clock.get();
        for (int c = 0; c < chunks.length; c++) {
            if (chunks[c] == null) {
                continue;
            }
            long at = (long) c * CHUNK_BYTES;
            int len = (int) Math.min(Math.min(CHUNK_BYTES, buf.length()), disk.capacity() - at);
            for (int off = 0; off < Math.min(CHUNK_BYTES, disk.capacity() - at); off += len) {
                int n = (int) Math.min(len, Math.min(CHUNK_BYTES, disk.capacity() - at) - off);
                IoResult r = disk.read(at + off, buf.slice(0, n));
                if (r != IoResult.OK) {
                    throw new IllegalStateException(drive + ": verify read at " + (at + off) + " failed: " + r);
                }
                check((at + off) / SectorStamp.SECTOR, n / SectorStamp.SECTOR, buf.address(), since);
                checked += n / SectorStamp.SECTOR;
            }
        }
        return report(checked);
    }

    /** The failures so far (from reads), with {@code checked} sectors in the summary. */
    public VerifyReport report(long checked) {
        failLock.lock();
        try {
            return new VerifyReport(drive, checked, writtenSectors(), List.copyOf(failures), new EnumMap<>(counts));
        } finally {
            failLock.unlock();
        }
    }

    public long failureCount() {
        failLock.lock();
        try {
            return counts.values().stream().mapToLong(Long::longValue).sum();
        } finally {
            failLock.unlock();
        }
    }

    private long writtenSectors() {
        long n = 0;
        for (Chunk ch : chunks) {
            if (ch == null) {
                continue;
            }
            ch.lock.lock();
            try {
                for (SectorHistory h : ch.history) {
                    if (h != null) {
                        n++;
                    }
                }
            } finally {
                ch.lock.unlock();
            }
        }
        return n;
    }

    // ---- internals -------------------------------------------------------------------------------

    private int check(long lba, int sectors, long addr, long since) {
        int bad = 0;
        for (int i = 0; i < sectors; i++) {
            long sector = lba + i;
            long a = addr + (long) i * SectorStamp.SECTOR;
            Chunk ch = chunk(sector);
            SectorStamp.Header hd = SectorStamp.read(mem, a, tag);
            String problem;
            VerifyFailure.Kind kind;
            ch.lock.lock();
            try {
                SectorHistory h = ch.history[(int) (sector % CHUNK_SECTORS)];
                boolean baselineOk = h == null || h.baselineAcceptable(since);
                if (hd.ours() && hd.intact() && hd.lba() == sector && h != null && h.acceptable(hd.seq(), since) >= 0) {
                    continue;
                }
                if (baselineOk && SectorStamp.hash(mem, a) == ch.baseline[(int) (sector % CHUNK_SECTORS)]) {
                    continue;
                }
                long expected = h == null ? 0 : h.newestAcked();
                String want = expected == 0 ? "its original content" : "write #" + expected;
                if (hd.ours() && !hd.intact()) {
                    kind = VerifyFailure.Kind.TORN;
                    problem = "expected " + want + ", found a stamp (write #" + hd.seq() + ") whose data does not match it";
                } else if (hd.ours() && hd.lba() != sector) {
                    kind = VerifyFailure.Kind.MISPLACED;
                    problem = "expected " + want + ", found write #" + hd.seq() + " meant for lba " + hd.lba();
                } else if (hd.ours()) {
                    kind = h != null && h.indexOf(hd.seq()) < 0 && hd.seq() > expected
                            ? VerifyFailure.Kind.CORRUPT : VerifyFailure.Kind.STALE;
                    problem = "expected " + want + ", found older write #" + hd.seq();
                } else if (SectorStamp.hash(mem, a) == ch.baseline[(int) (sector % CHUNK_SECTORS)]) {
                    kind = VerifyFailure.Kind.LOST;
                    problem = "expected " + want + " (acknowledged), found the original content";
                } else {
                    kind = VerifyFailure.Kind.CORRUPT;
                    problem = "expected " + want + ", found data the guest never wrote there";
                }
            } finally {
                ch.lock.unlock();
            }
            fail(new VerifyFailure(drive, sector, kind, problem));
            bad++;
        }
        return bad;
    }

    private void fail(VerifyFailure f) {
        LOG.log(System.Logger.Level.ERROR, f.toString());
        failLock.lock();
        try {
            counts.merge(f.kind(), 1L, Long::sum);
            if (failures.size() < MAX_REPORTED) {
                failures.add(f);
            }
        } finally {
            failLock.unlock();
        }
    }

    private Chunk chunk(long sector) {
        int c = (int) (sector / CHUNK_SECTORS);
        Chunk ch = c < chunks.length ? chunks[c] : null;
        if (ch == null) {
            throw new IllegalStateException(drive + ": sector " + sector + " is outside the verified region (call prepare)");
        }
        return ch;
    }

    private interface SectorAction {
        void apply(SectorHistory h);
    }

    private void forEachSector(long lba, int sectors, SectorAction action) {
        for (int i = 0; i < sectors; i++) {
            long sector = lba + i;
            Chunk ch = chunk(sector);
            int idx = (int) (sector % CHUNK_SECTORS);
            ch.lock.lock();
            try {
                SectorHistory h = ch.history[idx];
                if (h == null) {
                    h = new SectorHistory();
                    ch.history[idx] = h;
                }
                action.apply(h);
            } finally {
                ch.lock.unlock();
            }
        }
    }

    private long oldestActiveRead() {
        long min = SectorHistory.NONE;
        int n = Math.min(readers.get(), MAX_READERS);
        for (int i = 0; i < n; i++) {
            min = Math.min(min, activeReads.get(i));
        }
        return min;
    }
}
