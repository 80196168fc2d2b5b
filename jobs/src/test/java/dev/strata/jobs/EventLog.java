package dev.strata.jobs;

import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/** Records job events as short strings ("created", "COMPLETED", "ERROR read stop") for order assertions. */
public final class EventLog implements JobEventListener {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition added = lock.newCondition();
    private final List<String> events = new ArrayList<>();
    private final List<BlockJobEvent> completions = new ArrayList<>();

    private void add(String e) {
        lock.lock();
        try {
            events.add(e);
            added.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void jobStatusChange(String id, JobStatus status) {
        add(status.qapiName());
    }

    @Override
    public void blockJobCompleted(BlockJobEvent info, String error) {
        lock.lock();
        try {
            completions.add(info);
        } finally {
            lock.unlock();
        }
        add(error == null ? "COMPLETED" : "COMPLETED " + error);
    }

    @Override
    public void blockJobCancelled(BlockJobEvent info) {
        lock.lock();
        try {
            completions.add(info);
        } finally {
            lock.unlock();
        }
        add("CANCELLED");
    }

    @Override
    public void blockJobReady(BlockJobEvent info) {
        add("READY");
    }

    @Override
    public void blockJobPending(JobType type, String id) {
        add("PENDING");
    }

    @Override
    public void blockJobError(String id, IoOperation operation, ErrorAction action) {
        add("ERROR " + operation.qapiName() + " " + action.qapiName());
    }

    public List<String> events() {
        lock.lock();
        try {
            return List.copyOf(events);
        } finally {
            lock.unlock();
        }
    }

    public BlockJobEvent lastCompletion() {
        lock.lock();
        try {
            return completions.isEmpty() ? null : completions.get(completions.size() - 1);
        } finally {
            lock.unlock();
        }
    }

    /** Waits until {@code event} has been seen (at least {@code times} times); false on timeout. */
    public boolean await(String event, int times, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (events.stream().filter(event::equals).count() < times) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                added.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    public boolean await(String event, Duration timeout) {
        return await(event, 1, timeout);
    }

    public void clear() {
        lock.lock();
        try {
            events.clear();
        } finally {
            lock.unlock();
        }
    }
}
