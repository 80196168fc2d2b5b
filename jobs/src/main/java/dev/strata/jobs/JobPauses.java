package dev.strata.jobs;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.error.IoStatus;
import java.util.concurrent.TimeUnit;

/**
 * Why a job is paused and where its body waits: QEMU's pause counter (one for a user pause or an
 * {@code on-error=stop}, one per drain of a node the job uses), the user's pause flag, the
 * {@code io-status} an error stop sets, and the handshake between the body, which parks at its
 * pause points and sleeps between rate-limited chunks, and the verbs and drains that wake it
 * ({@link #kick}).
 *
 * <p>Threads: the body calls {@link #pausePoint} and {@link #sleep}; verbs come from monitor
 * threads, drains from whoever drains a node. Every field is guarded by the owning
 * {@link JobManager}'s lock; callers of the package methods hold it, except {@link #pausePoint},
 * {@link #sleep} and the drain listener, which take it.
 */
final class JobPauses {

    /** How long a drain waits for the job to reach a pause point before going on regardless. */
    private static final long DRAIN_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Job job;
    private int pauseCount;
    private int drainPauses;
    private boolean userPaused;
    private boolean atPausePoint;
    private JobStatus statusBeforePause;
    private boolean busy;
    private boolean kicked;
    private IoStatus ioStatus = IoStatus.OK;

    /** Registered on each node the job uses: a drain pauses the job until the drain ends. */
    final BlockNode.DrainListener drainListener = new BlockNode.DrainListener() {
        @Override
        public void drainBegin(BlockNode node) {
            onDrainBegin();
        }

        @Override
        public void drainEnd(BlockNode node) {
            onDrainEnd();
        }
    };

    JobPauses(Job job) {
        this.job = job;
    }

    boolean pending() {
        return pauseCount > 0;
    }

    boolean userPaused() {
        return userPaused;
    }

    boolean busy() {
        return busy;
    }

    void setBusy(boolean busy) {
        this.busy = busy;
    }

    IoStatus ioStatus() {
        return ioStatus;
    }

    void userPause() {
        userPaused = true;
        pauseCount++;
        kick();
    }

    /** Ends the user's pause (a resume, which also clears io-status, or a cancel). */
    void endUserPause(boolean clearIoStatus) {
        if (clearIoStatus) {
            ioStatus = IoStatus.OK;
        }
        if (userPaused) {
            userPaused = false;
            pauseCount--;
        }
    }

    /** {@code on-error=stop}: a user-visible pause, taken at the next pause point, and io-status. */
    void stopOnError(BlockException.Kind kind) {
        if (!userPaused) {
            pauseCount++;
            userPaused = true;
        }
        if (ioStatus == IoStatus.OK) {
            ioStatus = kind == BlockException.Kind.NO_SPACE ? IoStatus.NOSPACE : IoStatus.FAILED;
        }
    }

    /**
     * QEMU's pause point: if a pause is pending and the job is not cancelled, moves to paused
     * (standby when ready), waits for the resume, and restores the previous state.
     */
    void pausePoint() {
        if (!job.locked(() -> pauseCount > 0 && !job.forceCancelled())) {
            return;
        }
        job.beforePause();
        JobManager m = job.manager;
        m.lock.lock();
        try {
            if (pauseCount == 0 || job.forceCancelled()) {
                return;
            }
            statusBeforePause = job.state.status();
            job.state.transition(statusBeforePause == JobStatus.READY ? JobStatus.STANDBY : JobStatus.PAUSED);
            atPausePoint = true;
            busy = false;
            m.changed.signalAll();
            while (atPausePoint) {
                m.changed.awaitUninterruptibly();
            }
        } finally {
            m.lock.unlock();
        }
    }

    /** Sleeps up to {@code nanos} (woken early by kicks), then passes a pause point. */
    void sleep(long nanos) {
        if (nanos > 0) {
            JobManager m = job.manager;
            m.lock.lock();
            try {
                kicked = false;
                busy = false;
                long left = nanos;
                while (left > 0 && !kicked && !job.forceCancelled() && pauseCount == 0) {
                    left = m.changed.awaitNanos(left);
                }
                busy = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                m.lock.unlock();
            }
        }
        pausePoint();
    }

    /** Wakes the body; if it is parked and nothing holds it any more, leaves the pause now. */
    void kick() {
        kicked = true;
        if (atPausePoint && (pauseCount == 0 || job.forceCancelled())) {
            // leave the pause now, on the resumer's thread, so the state is right when the verb returns
            atPausePoint = false;
            busy = true;
            job.state.transition(statusBeforePause);
        }
        job.manager.changed.signalAll();
    }

    private void onDrainBegin() {
        JobManager m = job.manager;
        m.lock.lock();
        try {
            Thread body = job.thread;
            if (job.isDeferred() || body == null) {
                return;
            }
            drainPauses++;
            pauseCount++;
            kick();
            if (Thread.currentThread() == body) {
                return;
            }
            // QEMU's drain waits for the job to settle at a pause point; bounded so a drain never hangs
            long left = DRAIN_WAIT_NANOS;
            while (!atPausePoint && !job.isDeferred() && !job.forceCancelled() && body.isAlive() && left > 0) {
                left = m.changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            m.lock.unlock();
        }
    }

    private void onDrainEnd() {
        JobManager m = job.manager;
        m.lock.lock();
        try {
            if (drainPauses > 0) {
                drainPauses--;
                pauseCount--;
                kick();
            }
        } finally {
            m.lock.unlock();
        }
    }
}
