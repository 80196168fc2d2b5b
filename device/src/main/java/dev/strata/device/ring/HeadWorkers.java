package dev.strata.device.ring;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One virtual thread per descriptor head, created on first use and then reused: the iothread
 * hands head {@code h} to worker {@code h}, which runs the request as an ordinary blocking call.
 * Requests on different heads therefore overlap (queue depth &gt; 1 is real concurrency), and the
 * steady path allocates nothing (no thread, task or future per request).
 *
 * <p>Why per head: the guest cannot reuse a head before its completion, so a head's worker is
 * never asked to run two requests at once. A hostile guest that publishes a head twice is caught
 * by {@link #dispatch} returning false.
 *
 * <p>Thread safety: {@link #dispatch} from the iothread only; {@link #close} from the control
 * thread. A worker's {@code busy} flag is the hand-off: set by the iothread, cleared by the worker
 * after the task returned and before the completion is published, both volatile, so the task's
 * inputs written before dispatch are visible to it and a re-published head finds it free.
 */
public final class HeadWorkers implements AutoCloseable {

    /** The work for one head; runs on that head's worker thread. */
    @FunctionalInterface
    public interface Task {
        /** Runs the request on {@code head}; returns the used length to complete it with. */
        int run(int head);
    }

    /** Where finished heads go (the used ring). */
    @FunctionalInterface
    public interface Completer {
        void complete(int head, int usedLen);
    }

    private final String name;
    private final Task task;
    private final Completer completer;
    private final Worker[] workers;
    private volatile boolean closed;

    public HeadWorkers(String name, int heads, Task task, Completer completer) {
        this.name = name;
        this.task = task;
        this.completer = completer;
        this.workers = new Worker[heads];
    }

    /**
     * Starts {@code head}'s task on its worker.
     *
     * @return false if that head is still running (a guest protocol violation) or the pool closed
     */
    public boolean dispatch(int head) {
        if (closed) {
            return false;
        }
        Worker w = workers[head];
        if (w == null) {
            w = new Worker(head);
            workers[head] = w;
            w.thread.start();
        }
        if (w.busy) {
            return false;
        }
        w.busy = true;
        LockSupport.unpark(w.thread);
        return true;
    }

    /** True while {@code head}'s request runs. Only the iothread makes a head busy, so a false answer holds until it dispatches. */
    public boolean isBusy(int head) {
        Worker w = workers[head];
        return w != null && w.busy;
    }

    /** Number of heads whose request is running now. */
    public int busyCount() {
        int n = 0;
        for (Worker w : workers) {
            if (w != null && w.busy) {
                n++;
            }
        }
        return n;
    }

    /** Waits up to {@code timeout} for running requests to finish, then stops every worker. */
    @Override
    public void close() {
        closed = true;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (busyCount() > 0 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        for (Worker w : workers) {
            if (w != null) {
                LockSupport.unpark(w.thread);
            }
        }
    }

    private final class Worker implements Runnable {
        final int head;
        final Thread thread;
        volatile boolean busy;

        Worker(int head) {
            this.head = head;
            this.thread = Thread.ofVirtual().name(name + "-req" + head).unstarted(this);
        }

        @Override
        public void run() {
            while (true) {
                while (!busy) {
                    if (closed) {
                        return;
                    }
                    LockSupport.park(this);
                }
                int len = 0;
                try {
                    len = task.run(head);
                } finally {
                    // free the head before the guest can see it completed and publish it again
                    busy = false;
                    completer.complete(head, len);
                }
            }
        }
    }
}
