package dev.strata.blockdrv.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * O_DIRECT writes past the end of one host file, combined: writes that arrive while another is
 * in flight queue up, and the next writer writes every queued write that continues the one
 * before it with one gathering system call.
 *
 * <p>Why: a direct write that extends a file (every cluster a qcow2 image allocates, so every
 * chunk a cache=none job copies into its target) holds the file's inode lock in ext4 until the
 * device has the data; such writes run one at a time whatever the queue depth. A job with eight
 * copies in flight then wrote one 64-256 KiB piece at a time, and a direct write of that size
 * reaches half of what 1 MiB does on this kind of disk (fio: 470 MB/s at 64 KiB, 1350 MB/s at
 * 1 MiB). Combined, the pieces the copies deliver together go down as one large write.
 *
 * <p>Nothing changes but the number of system calls: each write lands at its own offset, and
 * a writer returns only when its own bytes are written (or with the error of the call that
 * carried them). Overlapping writes are never merged.
 *
 * <p>Thread safety: any thread. {@code lock} guards the queue and the {@code writing} flag; the
 * writer that finds no call in flight makes the calls, outside the lock, using the channel's
 * position (nothing else in Strata uses the position of a shared channel).
 */
final class ExtendingWrites {

    /** One caller's write, waiting to be carried. */
    private static final class Pending {
        final long offset;
        final ByteBuffer src;
        boolean finished;
        IOException error;

        Pending(long offset, ByteBuffer src) {
            this.offset = offset;
            this.src = src;
        }

        long end() {
            return offset + src.remaining();
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition finished = lock.newCondition();
    private final List<Pending> queue = new ArrayList<>();
    private boolean writing;

    /** Writes all of {@code src} at {@code offset} (aligned, as O_DIRECT wants); returns once it is written. */
    void write(FileChannel ch, long offset, ByteBuffer src) throws IOException {
        Pending me = new Pending(offset, src);
        lock.lock();
        try {
            queue.add(me);
            while (writing && !me.finished) {
                finished.awaitUninterruptibly();
            }
            if (me.finished) {
                if (me.error != null) {
                    throw new IOException(me.error.getMessage(), me.error);
                }
                return;
            }
            writing = true;
        } finally {
            lock.unlock();
        }
        List<Pending> batch;
        lock.lock();
        try {
            batch = new ArrayList<>(queue);
            queue.clear();
        } finally {
            lock.unlock();
        }
        try {
            carry(ch, batch);
        } finally {
            lock.lock();
            try {
                for (Pending p : batch) {
                    p.finished = true;
                }
                writing = false;
                finished.signalAll();
            } finally {
                lock.unlock();
            }
        }
        if (me.error != null) {
            throw me.error;
        }
    }

    /** Writes the batch in offset order, runs of back-to-back writes in one gathering call each. */
    private static void carry(FileChannel ch, List<Pending> batch) {
        batch.sort(Comparator.comparingLong(p -> p.offset));
        int i = 0;
        while (i < batch.size()) {
            int j = i + 1;
            while (j < batch.size() && batch.get(j).offset == batch.get(j - 1).end()) {
                j++;
            }
            List<Pending> run = batch.subList(i, j);
            try {
                if (run.size() == 1) {
                    Pending p = run.get(0);
                    long pos = p.offset;
                    while (p.src.hasRemaining()) {
                        pos += ch.write(p.src, pos);
                    }
                } else {
                    ByteBuffer[] bufs = run.stream().map(p -> p.src).toArray(ByteBuffer[]::new);
                    long left = run.get(run.size() - 1).end() - run.get(0).offset;
                    // the position is only used here, by one writer of this file at a time
                    ch.position(run.get(0).offset);
                    while (left > 0) {
                        left -= ch.write(bufs);
                    }
                }
            } catch (IOException e) {
                for (Pending p : run) {
                    p.error = e;
                }
            }
            i = j;
        }
    }
}
