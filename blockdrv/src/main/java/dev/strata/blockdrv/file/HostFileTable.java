package dev.strata.blockdrv.file;

import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One open channel per host file per process, shared by every node that opens the file, plus
 * QEMU-compatible image locking on it.
 *
 * <p>Why shared: host byte-range locks are POSIX locks, owned by the process, and closing
 * <em>any</em> descriptor of a file drops all of the process's locks on it. With one channel
 * per file, only the last close (or a read-only to read-write upgrade, which re-takes the
 * locks at once) can drop them.
 *
 * <p>Locks follow QEMU's file-posix scheme, so QEMU and Strata see each other: a shared lock on
 * byte 100+bit for each permission held (0 consistent read, 1 write, 2 write-unchanged,
 * 3 resize) and on byte 200+bit for each permission not shared with others. A writer holds
 * write and does not share write or resize; a backing file (read-only) does not share write.
 * Before taking write, the table tests that no other process holds write or refuses to share
 * it, failing with QEMU's {@code Failed to get "write" lock} message. Inside the process the
 * same rules are checked on the holders' flags, since a process never conflicts with its own
 * POSIX locks.
 *
 * <p>Holders that ask for {@code direct} (QEMU's {@code cache.direct=on}) get a second channel
 * on the same file opened with O_DIRECT; the buffered one stays open beside it for growing the
 * file and for holders that want the page cache. Both are closed together, so the POSIX-lock
 * rule above still holds.
 *
 * <p>Thread safety: all state is guarded by the table lock; channels are used concurrently for
 * positional I/O outside it.
 */
public final class HostFileTable {

    private static final HostFileTable INSTANCE = new HostFileTable();
    private static final int PERM_BASE = 100;
    private static final int SHARED_BASE = 200;
    private static final int READ = 0;
    private static final int WRITE = 1;
    private static final int WRITE_UNCHANGED = 2;
    private static final int RESIZE = 3;

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<Object, Entry> entries = new HashMap<>();

    public static HostFileTable get() {
        return INSTANCE;
    }

    /**
     * What a holder wants: to write, to stop others writing, whether locking applies at all, and
     * whether its I/O bypasses the host page cache (O_DIRECT).
     */
    public record Mode(boolean write, boolean unshareWrite, boolean locking, boolean direct) {
        public Mode(boolean write, boolean unshareWrite, boolean locking) {
            this(write, unshareWrite, locking, false);
        }
    }

    /** One opener's claim on a file; give it back with {@link #release}. */
    public final class Handle {
        private final Entry entry;
        private Mode mode;

        Handle(Entry entry, Mode mode) {
            this.entry = entry;
            this.mode = mode;
        }

        /**
         * The channel this holder does its I/O on: the O_DIRECT one for a direct holder, else the
         * buffered one. Re-read it on every request, an upgrade replaces it.
         */
        public FileChannel channel() {
            return mode.direct() ? entry.directChannel : entry.channel;
        }

        /** The buffered channel, whatever the mode: for growing the file by a byte, which O_DIRECT cannot. */
        public FileChannel bufferedChannel() {
            return entry.channel;
        }

        /** Offsets, lengths and buffer addresses of {@link #channel()} I/O must be multiples of this (1: buffered). */
        public int alignment() {
            return mode.direct() ? entry.directAlignment : 1;
        }

        /** Direct writes past the end of the file, combined (see {@link ExtendingWrites}). */
        ExtendingWrites extendingWrites() {
            return entry.extendingWrites;
        }

        /**
         * Taken by direct holders around read-modify-write of partial blocks, so two such writes
         * to different bytes of one block cannot lose each other's bytes.
         */
        public ReentrantLock partialBlocks() {
            return entry.partialBlocks;
        }

        /** The size of the file, shared by every holder in this process; see {@link FileSize}. */
        public FileSize fileSize() {
            return entry.size;
        }

        /**
         * Taken around large writes to this file. Buffered writes to one file hold the inode's
         * lock in the kernel, so concurrent large writers only spin on it (a third of a copy's
         * CPU on two cores); queueing them here parks them instead. Small writes do not take it.
         */
        public ReentrantLock largeWrites() {
            return entry.largeWrites;
        }

        /** Switches this claim between read-only and read-write (commit writes into a backing file). */
        public void reopen(boolean write) {
            HostFileTable.this.changeMode(this, new Mode(write, mode.unshareWrite() || write, mode.locking(), mode.direct()));
        }

        public void release() {
            HostFileTable.this.release(this);
        }
    }

    private static final class Entry {
        final Object key;
        final Path path;
        FileChannel channel;
        /** The O_DIRECT channel, opened when the first direct holder comes; null until then. */
        FileChannel directChannel;
        int directAlignment = 1;
        boolean channelWritable;
        final List<Handle> holders = new ArrayList<>();
        final List<FileLock> osLocks = new ArrayList<>();
        final FileSize size = new FileSize(() -> channel);
        final ReentrantLock largeWrites = new ReentrantLock();
        final ReentrantLock partialBlocks = new ReentrantLock();
        final ExtendingWrites extendingWrites = new ExtendingWrites();

        Entry(Object key, Path path) {
            this.key = key;
            this.path = path;
        }
    }

    /** Opens (or shares) the file for {@code mode}; fails with QEMU's lock message on a conflict. */
    public Handle open(Path path, String shownName, Mode mode) {
        Object key = fileKey(path, shownName);
        lock.lock();
        try {
            Entry e = entries.get(key);
            boolean fresh = e == null;
            if (fresh) {
                e = new Entry(key, path);
                e.channel = HostFiles.open(path, shownName, !mode.write(), false);
                e.channelWritable = mode.write();
            }
            Handle h = new Handle(e, mode);
            try {
                checkInProcess(e, null, mode, shownName);
                if (mode.write() && !e.channelWritable) {
                    upgrade(e, shownName);
                }
                if (mode.direct() && e.directChannel == null) {
                    openDirect(e, shownName);
                }
                e.holders.add(h);
                try {
                    relock(e, shownName, mode.write());
                } catch (BlockException ex) {
                    e.holders.remove(h);
                    relock(e, shownName, false);
                    throw ex;
                }
            } catch (BlockException ex) {
                if (fresh) {
                    closeQuietly(e.channel);
                    closeQuietly(e.directChannel);
                }
                throw ex;
            }
            if (fresh) {
                entries.put(key, e);
            }
            return h;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Claims {@code path} for creating an image in it, as QEMU's file driver does before it
     * truncates: the file is made if missing (not truncated), then write is taken and not shared,
     * failing with {@code Failed to get "write" lock} while another process (or a node of this
     * one) uses the image. Hold the claim while writing the new image; release it afterwards.
     */
    public Handle claimForCreate(Path path) {
        try {
            Files.createFile(path);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // an existing image is overwritten, once the claim shows nobody uses it
        } catch (IOException e) {
            throw HostFiles.createFailed(path, e);
        }
        return open(path, path.toString(), new Mode(true, true, true));
    }

    private void changeMode(Handle h, Mode mode) {
        lock.lock();
        try {
            Entry e = h.entry;
            String shown = e.path.toString();
            checkInProcess(e, h, mode, shown);
            Mode old = h.mode;
            h.mode = mode;
            try {
                if (mode.write() && !e.channelWritable) {
                    upgrade(e, shown);
                }
                relock(e, shown, mode.write() && !old.write());
            } catch (BlockException ex) {
                h.mode = old;
                relock(e, shown, false);
                throw ex;
            }
        } finally {
            lock.unlock();
        }
    }

    private void release(Handle h) {
        lock.lock();
        try {
            Entry e = h.entry;
            if (!e.holders.remove(h)) {
                return;
            }
            if (e.holders.isEmpty()) {
                entries.remove(e.key);
                e.osLocks.clear();
                closeQuietly(e.channel);
                closeQuietly(e.directChannel);
            } else {
                relock(e, e.path.toString(), false);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The same rules as between processes, applied to this process's own holders. */
    private static void checkInProcess(Entry e, Handle self, Mode mode, String shown) {
        for (Handle other : e.holders) {
            if (other == self || !other.mode.locking() || !mode.locking()) {
                continue;
            }
            boolean conflict = (mode.write() && (other.mode.write() || other.mode.unshareWrite()))
                    || (mode.unshareWrite() && other.mode.write());
            if (conflict) {
                throw writeLockError(shown, mode.write());
            }
        }
    }

    private static BlockException writeLockError(String shown, boolean wantWrite) {
        return new BlockException(BlockException.Kind.BUSY,
                "Failed to get " + (wantWrite ? "" : "shared ") + "\"write\" lock\nIs another process using the image [" + shown + "]?");
    }

    /**
     * Read-only channels to read-write: open the new ones, then close the old (which drops our
     * locks; relock follows).
     */
    private static void upgrade(Entry e, String shown) {
        FileChannel rw = HostFiles.open(e.path, shown, false, false);
        FileChannel rwDirect;
        try {
            rwDirect = e.directChannel == null ? null : HostFiles.open(e.path, shown, false, true);
        } catch (BlockException ex) {
            closeQuietly(rw);
            throw ex;
        }
        FileChannel old = e.channel;
        FileChannel oldDirect = e.directChannel;
        e.channel = rw;
        e.directChannel = rwDirect;
        e.channelWritable = true;
        e.osLocks.clear();
        closeQuietly(old);
        closeQuietly(oldDirect);
    }

    /** Opens the O_DIRECT channel beside the buffered one (which keeps the locks). */
    private static void openDirect(Entry e, String shown) {
        e.directAlignment = HostFiles.directAlignment(e.path);
        e.directChannel = HostFiles.open(e.path, shown, !e.channelWritable, true);
    }

    /**
     * Re-takes the OS locks for the union of the holders' modes. When {@code testWrite}, first
     * checks that no other process holds write or refuses to share it.
     */
    private static void relock(Entry e, String shown, boolean testWrite) {
        boolean locking = false;
        boolean write = false;
        boolean unshare = false;
        for (Handle h : e.holders) {
            if (h.mode.locking()) {
                locking = true;
                write |= h.mode.write();
                unshare |= h.mode.unshareWrite();
            }
        }
        // the cached size is exact only while no other process may write or resize the file
        e.size.setTrusted(locking && (write || unshare));
        try {
            for (FileLock l : e.osLocks) {
                if (l.isValid()) {
                    l.release();
                }
            }
            e.osLocks.clear();
            if (!locking) {
                return;
            }
            if (testWrite && e.channelWritable) {
                for (int b : new int[] {SHARED_BASE + WRITE, PERM_BASE + WRITE}) {
                    FileLock probe = e.channel.tryLock(b, 1, false);
                    if (probe == null) {
                        throw writeLockError(shown, true);
                    }
                    probe.release();
                }
            }
            take(e, PERM_BASE + READ);
            if (write) {
                take(e, PERM_BASE + WRITE);
                take(e, PERM_BASE + WRITE_UNCHANGED);
                take(e, PERM_BASE + RESIZE);
            }
            if (unshare) {
                take(e, SHARED_BASE + WRITE);
                take(e, SHARED_BASE + RESIZE);
            }
        } catch (IOException ex) {
            throw new BlockException(BlockException.Kind.IO, "Failed to lock '" + shown + "': " + ex.getMessage(), ex);
        }
    }

    private static void take(Entry e, int offset) throws IOException {
        FileLock l = e.channel.tryLock(offset, 1, true);
        if (l != null) {
            e.osLocks.add(l);
        }
    }

    private static Object fileKey(Path path, String shownName) {
        try {
            Object k = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            return k != null ? k : path.toRealPath();
        } catch (java.nio.file.NoSuchFileException ex) {
            throw new BlockException(BlockException.Kind.NOT_FOUND, "Could not open '" + shownName + "': No such file or directory", ex);
        } catch (IOException ex) {
            throw new BlockException(BlockException.Kind.IO, "Could not open '" + shownName + "': " + ex.getMessage(), ex);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) {
            return;
        }
        try {
            ch.close();
        } catch (IOException ex) {
            // nothing more to do with a channel we are discarding
        }
    }
}
