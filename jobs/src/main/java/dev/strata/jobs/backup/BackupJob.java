package dev.strata.jobs.backup;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.WriteNotifier;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.ChainExtent;
import dev.strata.jobs.CopyJob;
import dev.strata.jobs.CopyPipeline;
import dev.strata.jobs.JobType;
import dev.strata.jobs.bitmap.NodeDirtyBitmap;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Backup (QEMU's {@code block/backup.c} with its copy-before-write filter): the target receives
 * the disk as it was when the job started. The job copies the clusters of its set ({@code full}:
 * all; {@code top}: those allocated in the top layer; {@code none}: none in the background), and
 * a write notifier on the source copies a cluster's old data to the target before a guest write
 * may change it. Each cluster is copied once: a claim (guarded by {@code lock}) makes the job and
 * guest writers wait for each other per cluster, never copy twice.
 *
 * <p>The job copies runs of neighbouring clusters of its set, up to {@link #MAX_RUN} at once (one
 * read and one write instead of sixteen of each); a copier claims the clusters of its run that
 * are still to copy and copies each claimed stretch whole. Within a stretch, ranges the whole
 * source chain reads as zeros are not read at all: skipped when the target reads zeros there
 * anyway (a new image without backing), written as zeros otherwise (QEMU's block-copy does the
 * same). Claimed clusters cannot change on the source (a guest write waits for the claim in the
 * write notifier), so what the chain says about them at copy time is what it said at the start.
 *
 * <p>Threads: body on the job thread, copies on the pipeline's (platform) threads, the notifier on
 * guest threads.
 */
public final class BackupJob extends CopyJob {

    static final int CLUSTER = 64 << 10;
    /** Largest run one copy moves. */
    static final int MAX_RUN = Integer.getInteger("strata.backup.run", 1 << 20);
    private static final int DEPTH = Integer.getInteger("strata.backup.depth", 8);

    private final BlockNode source;
    private final BlockNode target;
    private final String sync;
    private final Runnable onClean;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition settled = lock.newCondition();
    private final BitSet toCopy = new BitSet();
    private final BitSet copying = new BitSet();
    private volatile boolean armed;
    private volatile BlockException cbwFailure;
    /** sync=incremental/bitmap: the bitmap, what the backup took from it, whether it gets it back on success. */
    private NodeDirtyBitmap bitmap;
    private volatile boolean compress;
    private volatile BitSet taken;
    private boolean keepOnSuccess;
    private final WriteNotifier notifier = new WriteNotifier() {
        @Override
        public void beforeWrite(BlockNode node, long offset, long bytes) {
            copyBeforeWrite(offset, bytes);
        }
    };

    public BackupJob(String id, BlockNode source, BlockNode target, String sync, OnError onSourceError,
                     OnError onTargetError, Runnable onClean, boolean autoFinalize, boolean autoDismiss) {
        super(id, JobType.BACKUP, autoFinalize, autoDismiss, onSourceError, onTargetError, Redo.RETRY);
        this.source = source;
        this.target = target;
        this.sync = sync;
        this.onClean = onClean;
    }

    @Override
    protected List<BlockNode> nodes() {
        return List.of(source, target);
    }

    /**
     * Fixes the point in time: called by the starter with the source drained (no guest write in
     * flight), so every later write meets the notifier. QEMU's filter insertion shows as the
     * {@code paused}/{@code running} pair right after {@code running}.
     */
    /** compress=true, before {@link #arm()}: data clusters reach the target compressed. */
    public void compressData() {
        CompressedCopy.check(target, CLUSTER);
        this.compress = true;
    }

    /** For sync=incremental/bitmap, before {@link #arm()}: copy the pieces {@code b} recorded. */
    public void useBitmap(NodeDirtyBitmap b, boolean keepBitsOnSuccess) {
        this.bitmap = b;
        this.keepOnSuccess = keepBitsOnSuccess;
    }

    public void arm() {
        long size = source.size();
        int clusters = (int) ((size + CLUSTER - 1) / CLUSTER);
        lock.lock();
        try {
            switch (sync) {
                case "full", "none" -> toCopy.set(0, clusters);
                case "top" -> {
                    long off = 0;
                    while (off < size) {
                        var s = source.blockStatus(off, size - off);
                        if (s.state().allocated()) {
                            toCopy.set((int) (off / CLUSTER), (int) ((s.end() + CLUSTER - 1) / CLUSTER));
                        }
                        off = s.end();
                    }
                }
                case "incremental", "bitmap" -> {
                    taken = bitmap.takeForBackup();
                    long g = bitmap.granularity();
                    for (int i = taken.nextSetBit(0); i >= 0; i = taken.nextSetBit(i + 1)) {
                        long from = i * g;
                        if (from >= size) {
                            break;
                        }
                        long to = Math.min(size, from + g);
                        toCopy.set((int) (from / CLUSTER), (int) ((to + CLUSTER - 1) / CLUSTER));
                    }
                }
                default -> throw new IllegalArgumentException("sync " + sync);
            }
            setLen(sync.equals("none") ? 0 : Math.min(size, (long) toCopy.cardinality() * CLUSTER));
        } finally {
            lock.unlock();
        }
        source.addWriteNotifier(notifier);
        armed = true;
    }

    @Override
    protected void run() {
        while (!armed) {
            sleep(TimeUnit.MILLISECONDS.toNanos(2));
            if (isCancelled()) {
                return;
            }
        }
        if (target.size() < source.size()) {
            throw BlockException.invalid("Source and target image have different sizes");
        }
        startPipeline(new CopyPipeline(DEPTH, this::copyRun, b -> { })).writeBackEarly(target);
        int cluster = 0;
        int clusters = (int) ((source.size() + CLUSTER - 1) / CLUSTER);
        while (!isCancelled()) {
            if (cbwFailure != null) {
                // a point-in-time copy that missed a cluster is worthless, whatever the policy; the
                // guest's write itself went through (QEMU's on-cbw-error=break-snapshot)
                reportError(OnError.REPORT, cbwFailure, IoOperation.WRITE);
                pipeline().awaitIdle();
                throw cbwFailure;
            }
            if (settleFailures() || retryNext()) {
                continue;
            }
            pausePoint();
            if (sync.equals("none") || cluster >= clusters) {
                if (windowClean()) {
                    if (sync.equals("none")) {
                        // QEMU's sync=none job only lives to serve copy-before-write until cancelled
                        sleep(TimeUnit.MILLISECONDS.toNanos(50));
                        if (cancelRequested()) {
                            break;
                        }
                        continue;
                    }
                    break;
                }
                continue;
            }
            int next = nextToCopy(cluster);
            if (next < 0 || next >= clusters) {
                cluster = clusters;
                continue;
            }
            int end = runEnd(next, Math.min(clusters, next + Math.max(1, chunkFor(CLUSTER, MAX_RUN) / CLUSTER)));
            cluster = end;
            long off = (long) next * CLUSTER;
            int bytes = (int) (Math.min(source.size(), (long) end * CLUSTER) - off);
            copy(off, bytes);
        }
        finishCopying();
    }

    private int nextToCopy(int from) {
        lock.lock();
        try {
            return toCopy.nextSetBit(from);
        } finally {
            lock.unlock();
        }
    }

    /** End (exclusive) of the run of clusters still to copy that starts at {@code from}, at most {@code limit}. */
    private int runEnd(int from, int limit) {
        lock.lock();
        try {
            return Math.min(limit, toCopy.nextClearBit(from));
        } finally {
            lock.unlock();
        }
    }

    /**
     * The job's copy of a run: claims and copies, stretch by stretch, the clusters of the run that
     * still need copying (guest writes may have taken some meanwhile); failures are the pipeline's.
     */
    private void copyRun(long offset, int bytes) {
        int c = (int) (offset / CLUSTER);
        int end = (int) ((offset + bytes + CLUSTER - 1) / CLUSTER);
        while (c < end) {
            int stop = claimStretch(c, end);
            if (stop == c) {
                c++;
                continue;
            }
            long off = (long) c * CLUSTER;
            int n = (int) (Math.min(source.size(), (long) stop * CLUSTER) - off);
            boolean ok = false;
            try {
                copyOut(off, n);
                ok = true;
            } finally {
                release(c, stop, ok);
            }
            addProgress(n);
            c = stop;
        }
    }

    /** Copies {@code [offset, offset+bytes)} of claimed clusters: data as data, zeros cheaply or not at all. */
    private void copyOut(long offset, int bytes) {
        if (compress) {
            CompressedCopy.copy(source, target, offset, bytes);
            return;
        }
        long pos = offset;
        long end = offset + bytes;
        while (pos < end) {
            long at = pos;
            ChainExtent e = CopyPipeline.readSource(() -> ChainExtent.at(source, at, end - at));
            if (!e.zero()) {
                CopyPipeline.copyRange(source, target, pos, (int) e.length());
            } else {
                CopyPipeline.writeTarget(() -> {
                    if (!ChainExtent.readsZeros(target, at, e.length())) {
                        target.writeZeroes(at, e.length(), false);
                    }
                });
            }
            pos += e.length();
        }
    }

    /** Guest thread, before its write: the old data of every touched cluster goes to the target first. */
    private void copyBeforeWrite(long offset, long bytes) {
        int first = (int) (offset / CLUSTER);
        int last = (int) ((offset + Math.max(1, bytes) - 1) / CLUSTER);
        for (int c = first; c <= last; c++) {
            if (!claim(c)) {
                continue;
            }
            boolean ok = false;
            long off = (long) c * CLUSTER;
            int n = (int) Math.min(CLUSTER, source.size() - off);
            try {
                copyOut(off, n);
                ok = true;
                if (!sync.equals("none")) {
                    addProgress(n);
                }
            } catch (CopyPipeline.SideFailure e) {
                // QEMU fails the job when copy-before-write fails; the guest write itself goes on
                cbwFailure = (BlockException) e.getCause();
            } finally {
                release(c, c + 1, ok);
            }
        }
    }

    /** Takes cluster {@code c} for copying; false when it needs none (done or not in the set). */
    private boolean claim(int c) {
        lock.lock();
        try {
            while (copying.get(c)) {
                settled.awaitUninterruptibly();
            }
            if (!toCopy.get(c)) {
                return false;
            }
            copying.set(c);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Claims cluster {@code c} (waiting while someone copies it) and the clusters after it, below
     * {@code end}, that still need copying and nobody copies now; returns the end of the claimed
     * stretch, or {@code c} when {@code c} itself needs no copy. Waits only with nothing claimed,
     * so claimers never wait for each other in a cycle.
     */
    private int claimStretch(int c, int end) {
        lock.lock();
        try {
            while (copying.get(c)) {
                settled.awaitUninterruptibly();
            }
            if (!toCopy.get(c)) {
                return c;
            }
            int stop = c + 1;
            while (stop < end && toCopy.get(stop) && !copying.get(stop)) {
                stop++;
            }
            copying.set(c, stop);
            return stop;
        } finally {
            lock.unlock();
        }
    }

    private void release(int from, int to, boolean copied) {
        lock.lock();
        try {
            copying.clear(from, to);
            if (copied) {
                toCopy.clear(from, to);
            }
            settled.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    protected void prepare() {
        target.flush();
        if (taken != null) {
            bitmap.backupEnded(taken, keepOnSuccess);
            taken = null;
        }
    }

    @Override
    protected void abort() {
        if (taken != null) {
            bitmap.backupEnded(taken, true); // a failed incremental backup gives its pieces back
            taken = null;
        }
    }

    @Override
    protected void clean() {
        hideFilter();
        source.removeWriteNotifier(notifier);
        onClean.run();
    }
}
