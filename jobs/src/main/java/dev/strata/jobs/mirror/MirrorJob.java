package dev.strata.jobs.mirror;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.Chains;
import dev.strata.blockdrv.RemoteStorage;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.CopyJob;
import dev.strata.jobs.CopyPipeline;
import dev.strata.jobs.JobStatus;
import dev.strata.jobs.JobType;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Mirror and active commit (QEMU's {@code block/mirror.c}): copies what the {@link MirrorBitmap}
 * says is dirty from {@code source} (the drive's root) to {@code target}; a {@link WriteThrough}
 * notifier on the source follows guest writes (marking them dirty, or in write-blocking mode
 * writing them to the target before they complete). Once nothing is dirty the job goes READY and
 * keeps following writes. On {@code complete} (or a soft cancel after READY) it stops the guest
 * at the drive's door, copies the last dirty pieces, and then — on complete only — lets
 * {@link Pivot} switch the drive over in {@link #prepare()} while the guest is still held.
 *
 * <p>Threads: body on the job thread, copies on the pipeline's threads, the notifier on guest
 * threads; shared state is in the bitmap (own lock), the volatile flags below and the framework;
 * {@code held} is job-thread only until the job ends.
 */
public final class MirrorJob extends CopyJob {

    /** What complete does and what the job must undo; supplied by mirror and active commit. */
    public interface Pivot {
        /** Switches the drive over; called with the drive drained and the target in sync. */
        void pivot();

        /** Restores flags and closes what the job opened, whatever the outcome. */
        default void clean() {
        }
    }

    /** Which ranges are dirty at the start: {@link #mark} reports each one to {@code dirty}. */
    public interface InitialDirt {
        void mark(DirtyRanges dirty);
    }

    /** Receives dirty ranges (offset, bytes). */
    @FunctionalInterface
    public interface DirtyRanges {
        void dirty(long offset, long bytes);
    }

    /**
     * How the copy runs.
     *
     * @param writeBlocking    QEMU's {@code copy-mode: write-blocking}: guest writes reach the target before they complete
     * @param bufSize          QEMU's {@code buf-size}: bytes in flight at most (0: 16 MiB)
     * @param unmap            whether zero ranges may be unmapped on the target
     * @param zeroTarget       the target may hold old data where the source reads zeros ({@code sync=full}
     *                         onto an existing image): those ranges are zeroed on the target first
     * @param targetReadsZeros the target reads zeros wherever the job has not written (a fresh image without
     *                         backing file), so zero ranges of the source need not be sent
     */
    public record Settings(boolean writeBlocking, long bufSize, boolean unmap, boolean zeroTarget, boolean targetReadsZeros) {
        /** Background copy, default buffer, unmap; nothing known about the target (active commit). */
        public static final Settings DEFAULT = new Settings(false, 0, true, false, false);
    }

    /** QEMU's MAX_IO_BYTES and MAX_IN_FLIGHT: the default buffer is 16 copies of 1 MiB. */
    private static final int MAX_IO = 1 << 20;
    private static final int MAX_IN_FLIGHT = 16;
    /** Copies on platform threads: more than this only adds contention on a small host. */
    private static final int MAX_DEPTH = 8;
    /**
     * Copies in flight onto a remote target ({@link RemoteStorage}): there a copy mostly waits for
     * a round trip, not for CPU, and the default buffer (16 x 1 MiB) must all be in flight to fill
     * a long, fat link (1 Gbit/s x 10 ms round trip holds 1.25 MB; the buffer leaves room for the
     * local reads and several requests per run).
     */
    private static final int MAX_REMOTE_DEPTH = 32;
    /**
     * How long a background mirror onto a remote target may chase the guest's writes after the
     * initial copy before it carries them itself (write-blocking from then on). Over a link with
     * a round trip of milliseconds a guest writing thousands of times a second always has some
     * granule dirty again before its copy lands, so the dirty set never reaches zero and the job
     * would never be READY; QEMU 8.2 lets management switch such a job with {@code block-job-change
     * copy-mode=write-blocking}, Strata does it by itself after this time.
     */
    static final long CONVERGE_AFTER_NANOS = Long.getLong("strata.jobs.mirrorConvergeMs", 1000) * 1_000_000L;
    private static final long ZERO_STEP = 1L << 30;

    /** The drive whose guest is held for the switch; null for a root node no device uses. */
    private final BlockBackend backend;
    private final BlockNode source;
    private final BlockNode target;
    private final List<BlockNode> nodes;
    private final MirrorBitmap bitmap;
    private final InitialDirt initial;
    private final OnError onTargetError;
    private final Pivot pivot;
    private final Settings settings;
    private final int maxIo;
    private final int depth;
    private final WriteThrough notifier;
    /** The target's network driver, or null when it is local storage. */
    private final RemoteStorage remote;
    /** Set by the job thread before the copies start: the whole target was zeroed, it reads zeros where not copied. */
    private boolean targetZeroed;
    /** When the initial dirty set was all handed to copies (System.nanoTime), 0 before; job thread only. */
    private long bulkHandedOutAt;
    /** Whether a background job switched itself to write-blocking to converge (tests, docs). */
    private volatile boolean switchedToWriteBlocking;
    private volatile boolean ready;
    private volatile boolean carrying;
    private volatile boolean stopped;
    private volatile BlockException targetFailure;
    /** Bytes of the initial dirty set not yet handed to a copy (job thread writes, pipeline reads). */
    private volatile long bulkLeft;
    private BlockNode.Drained held;
    private MirrorCopy copier;

    public MirrorJob(String id, JobType type, BlockBackend backend, BlockNode source, BlockNode target, List<BlockNode> nodes,
                     int granularity, InitialDirt initial, OnError onSourceError, OnError onTargetError, Pivot pivot,
                     boolean autoFinalize, boolean autoDismiss) {
        this(id, type, backend, source, target, nodes, granularity, initial, onSourceError, onTargetError, pivot,
                autoFinalize, autoDismiss, Settings.DEFAULT);
    }

    public MirrorJob(String id, JobType type, BlockBackend backend, BlockNode source, BlockNode target, List<BlockNode> nodes,
                     int granularity, InitialDirt initial, OnError onSourceError, OnError onTargetError, Pivot pivot,
                     boolean autoFinalize, boolean autoDismiss, Settings settings) {
        super(id, type, autoFinalize, autoDismiss, onSourceError, onTargetError, Redo.BY_JOB);
        this.backend = backend;
        this.source = source;
        this.target = target;
        this.nodes = List.copyOf(nodes);
        this.bitmap = new MirrorBitmap(source.size(), granularity);
        this.initial = initial;
        this.onTargetError = onTargetError;
        this.pivot = pivot;
        this.settings = settings;
        // QEMU: buf-size rounded up to the granularity; one copy moves at most buf-size/16 (>= 1 MiB)
        long buf = settings.bufSize() > 0 ? settings.bufSize() : (long) MAX_IN_FLIGHT * MAX_IO;
        buf = (buf + granularity - 1) / granularity * granularity;
        long io = Math.min(buf, Math.max(buf / MAX_IN_FLIGHT, MAX_IO));
        this.maxIo = (int) Math.max(granularity, Math.min(Integer.MAX_VALUE / 2, io) / granularity * granularity);
        this.remote = RemoteStorage.of(target);
        this.depth = (int) Math.max(1, Math.min(remote != null ? MAX_REMOTE_DEPTH : MAX_DEPTH, buf / maxIo));
        this.notifier = new WriteThrough(bitmap, target, new WriteThrough.Owner() {
            @Override
            public boolean writeThrough() {
                return carrying && !stopped && targetFailure == null;
            }

            @Override
            public void carried(long bytes) {
                // QEMU counts a carried write as more work, done at once: len and offset grow together
                addLen(bytes);
                addProgress(bytes);
            }

            @Override
            public void targetFailed(BlockException error) {
                if (reportError(onTargetError, error, IoOperation.WRITE) == ErrorAction.REPORT) {
                    targetFailure = error;
                }
            }
        });
        // follow guest writes from the moment the command returns
        source.addWriteNotifier(notifier);
    }

    /** Undoes the constructor's hook when the job could not be started. */
    public void abandonUnstarted() {
        source.removeWriteNotifier(notifier);
    }

    public BlockNode target() {
        return target;
    }

    /** Whether guest writes are written through to the target (write-blocking mode, tests). */
    public boolean writeBlocking() {
        return settings.writeBlocking();
    }

    @Override
    protected List<BlockNode> nodes() {
        return nodes;
    }

    @Override
    protected boolean supportsComplete() {
        return true;
    }

    @Override
    protected boolean cancelIsForced(boolean force) {
        // before READY every cancel is a real one; after READY a soft cancel ends without pivot
        return force || !ready;
    }

    @Override
    protected void run() {
        try {
            body();
        } finally {
            // once the body is over nothing is carried to the target any more (QEMU: job->ret, cancelled)
            stopped = true;
        }
    }

    private void body() {
        if (target.size() != source.size()) {
            throw BlockException.invalid("Source and target image have different sizes");
        }
        if (!initialDirt()) {
            return;
        }
        updateLen();
        copier = new MirrorCopy(source, target, bitmap, settings.targetReadsZeros() || targetZeroed, settings.unmap());
        // Yield to a busy guest (CopyPipeline's fairness) only while copying the initial dirty set:
        // once that is handed out, what is left is what the guest keeps dirtying, and a copy that
        // yields to the very writes it must catch up with never reaches READY (QEMU's mirror does
        // not yield either; write-blocking is the way to spare a busy guest the race).
        bulkLeft = bitmap.dirtyBytes();
        CopyPipeline pipeline = startPipeline(new CopyPipeline(depth, this::copyRun, b -> { },
                () -> bulkLeft > 0 ? BlockBackend.requestsStartedAll() : 0L));
        if (remote == null) {
            // a remote server has its own cache: early flushes would only cost round trips
            pipeline.writeBackEarly(target);
        }
        // only now: before the initial scan a clean granule meant "not looked at yet"
        carrying = settings.writeBlocking();
        while (!isCancelled()) {
            BlockException failed = targetFailure;
            if (failed != null) {
                pipeline.awaitIdle();
                releaseHeld();
                throw failed;
            }
            if (handleFailures()) {
                continue;
            }
            pausePoint();
            if (isCancelled()) {
                break;
            }
            convergeAid();
            MirrorBitmap.Run run = bitmap.take(held == null ? chunkFor(bitmap.granularity(), maxIo) : maxIo);
            if (run != null) {
                bulkLeft -= run.bytes();
                pipeline.submit(run.offset(), run.bytes());
                updateLen();
                if (held == null) {
                    rateLimit(run.bytes());
                }
                continue;
            }
            if (!bitmap.isClean()) {
                bitmap.awaitChange(TimeUnit.MILLISECONDS.toNanos(10));
                continue;
            }
            updateLen();
            if (!ready) {
                ready = true;
                // from here on the copies only follow the guest's writes, for as long as the job
                // stays READY: syncing those every 32 MiB would send the target a stream of cache
                // flushes QEMU never sends; the completion flush (before the guest is held) does it once
                pipeline.writeBackEarly(null);
                transitionToReady();
            }
            if (completeRequested() || cancelRequested()) {
                if (held == null) {
                    // sync what is copied while the guest still runs: the flushes below happen
                    // with the guest stopped at the door, and then have only the last writes left.
                    // Only an optimisation: a failure here is met again, and handled, below.
                    try {
                        flushBoth();
                    } catch (BlockException e) {
                        // see above
                    }
                    // stop the guest at the door, then copy what it wrote since the last look
                    held = holdGuest();
                    continue;
                }
                pipeline.awaitIdle();
                if (bitmap.isClean() && !pipeline.hasFailures() && targetFailure == null) {
                    flushBoth();
                    return;
                }
                continue;
            }
            // woken at once by complete, cancel or pause; new guest writes are looked at within 20 ms
            sleep(TimeUnit.MILLISECONDS.toNanos(20));
        }
        pipeline.awaitIdle();
    }

    /** Onto a remote target, switches a background job that cannot catch up with the guest to write-blocking. */
    private void convergeAid() {
        if (carrying || ready || remote == null || bulkLeft > 0 || stopped) {
            return;
        }
        long now = System.nanoTime();
        if (bulkHandedOutAt == 0) {
            bulkHandedOutAt = now;
        } else if (now - bulkHandedOutAt >= CONVERGE_AFTER_NANOS) {
            switchedToWriteBlocking = true;
            carrying = true;
        }
    }

    /** Whether this background job switched itself to write-blocking to converge onto a remote target. */
    public boolean switchedToWriteBlocking() {
        return switchedToWriteBlocking;
    }

    private void flushBoth() {
        source.flush();
        target.flush();
    }

    /**
     * Fills the bitmap from the initial scan ({@code zeroTarget}: zeroes the target where the
     * source has nothing, then marks the rest); false when cancelled meanwhile.
     */
    private boolean initialDirt() {
        if (settings.zeroTarget() && remote != null && remote.writesZeroesWithoutData()) {
            // QEMU's zero_target onto a target that writes zeroes without data: zero it whole in a
            // few large requests, then copy only what the source holds (one round trip per GiB
            // instead of one per hole)
            long size = source.size();
            long off = 0;
            try {
                for (; off < size; off += ZERO_STEP) {
                    target.writeZeroes(off, Math.min(ZERO_STEP, size - off), settings.unmap());
                    pausePoint();
                    if (isCancelled()) {
                        return false;
                    }
                }
            } catch (BlockException e) {
                // the target failed (a dropped link): what was zeroed stays zeroed, the rest goes
                // the hole-by-hole way, whose failures meet on-target-error in the copy loop
                return scan(0, off, false) && scan(off, size, true);
            }
            targetZeroed = true;
            initial.mark(bitmap::markDirty);
        } else if (settings.zeroTarget()) {
            return scan(0, source.size(), true);
        } else {
            initial.mark(bitmap::markDirty);
        }
        return true;
    }

    /**
     * Marks what the source holds in {@code [from, to)} dirty and, with {@code zeroHoles}, zeroes
     * the target where the source has nothing; false when cancelled meanwhile.
     */
    private boolean scan(long from, long to, boolean zeroHoles) {
        for (long off = from; off < to; ) {
            Chains.Allocation a = Chains.isAllocatedAbove(source, null, off, Math.min(ZERO_STEP, to - off));
            if (a.allocated()) {
                bitmap.markDirty(off, a.bytes());
            } else if (zeroHoles) {
                try {
                    target.writeZeroes(off, a.bytes(), settings.unmap());
                } catch (BlockException e) {
                    // a target that fails here (a dropped NBD link) is copied like any dirty range,
                    // so the failure meets on-target-error in the copy loop instead of failing the job
                    bitmap.markDirty(off, a.bytes());
                }
            }
            off += a.bytes();
            pausePoint();
            if (isCancelled()) {
                return false;
            }
        }
        return true;
    }

    private void updateLen() {
        // offset + what is left (exact whenever the bitmap is clean, e.g. at READY)
        setLen(offset() + bitmap.dirtyBytes() + bitmap.copyingBytes());
    }

    /** Applies the error policies to failed copies, letting the guest go on; true when the loop should look again. */
    private boolean handleFailures() {
        boolean failed;
        try {
            failed = settleFailures();
        } catch (BlockException e) {
            releaseHeld();
            throw e;
        }
        if (failed) {
            releaseHeld();
        }
        return failed;
    }

    @Override
    protected void failed(CopyPipeline.Failure f) {
        // copied again once taken from the bitmap again; a failed copy may have written part of
        // its run: the target is no longer known to read zeros there
        bitmap.finish(new MirrorBitmap.Run(f.offset(), f.bytes()), true, true);
    }

    private void copyRun(long offset, int bytes) {
        boolean wrote = copier.copy(offset, bytes);
        addProgress(bytes);   // before finish: once the bitmap is clean, offset must already be final
        bitmap.finish(new MirrorBitmap.Run(offset, bytes), false, wrote);
    }

    @Override
    protected void beforePause() {
        super.beforePause();
        releaseHeld();
    }

    /**
     * Stops guest requests at the drive's door. A root node without a drive (a {@code -blockdev}
     * node no device uses) has no guest to hold: nothing writes to it but this job.
     */
    private BlockNode.Drained holdGuest() {
        return backend != null ? backend.drain() : () -> { };
    }

    private void releaseHeld() {
        if (held != null) {
            held.close();
            held = null;
        }
    }

    @Override
    protected void prepare() {
        if (completeRequested() && !cancelRequested()) {
            if (held == null) {
                held = holdGuest();
            }
            pivot.pivot();
        }
    }

    @Override
    protected void clean() {
        hideFilter();
        source.removeWriteNotifier(notifier);
        releaseHeld();
        pivot.clean();
    }

    /** True once the job has been READY (tests). */
    public boolean wasReady() {
        return ready || status() == JobStatus.READY;
    }
}
