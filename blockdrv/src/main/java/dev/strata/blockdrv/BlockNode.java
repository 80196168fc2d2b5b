package dev.strata.blockdrv;

import dev.strata.blockdrv.io.RequestTracker;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A node of the block graph: one open driver plus its children, and the generic request path
 * every driver shares (bounds, alignment padding, tracked and serialising requests, drain,
 * copy-on-read, zero-filled reads past a child's end); its write notifiers hear of every write
 * through {@code WriteNotifiers}, in one order for every kind of write.
 *
 * <p>Thread safety: the I/O methods may be called from any number of threads. Children are
 * volatile and only replaced while the node is drained ({@link #drain()}); the read-only flag and
 * the op blocker are volatile.
 */
public final class BlockNode {

    private final String nodeName;
    private final boolean autoNamed;
    private final NodeCache cache;
    private final RequestTracker tracker = new RequestTracker();
    private final List<DrainListener> drainListeners = new CopyOnWriteArrayList<>();
    private final WriteNotifiers writeNotifiers = new WriteNotifiers(this);
    private BlockDriver driver;
    private volatile BlockNode file;
    private volatile BlockNode backing;
    private volatile boolean readOnly;
    private volatile String blocker;
    private volatile String backingFileOverride;
    private volatile RequestPolicy policy = RequestPolicy.DEFAULT;

    /** Told when the node is drained, so a job working on it can pause at its next pause point. */
    public interface DrainListener {
        void drainBegin(BlockNode node);

        void drainEnd(BlockNode node);
    }

    BlockNode(String nodeName, boolean autoNamed, boolean readOnly, NodeCache cache) {
        this.nodeName = nodeName;
        this.autoNamed = autoNamed;
        this.readOnly = readOnly;
        this.cache = cache;
    }

    void bind(BlockDriver driver) {
        this.driver = driver;
    }

    // ---- identity and graph -------------------------------------------------------------

    public String nodeName() {
        return nodeName;
    }

    /** True when the name was generated ({@code #block<N>}) rather than given by the user. */
    public boolean isAutoNamed() {
        return autoNamed;
    }

    public BlockDriver driver() {
        return driver;
    }

    /** The cache options this node was opened with ({@code cache.direct}, {@code cache.no-flush}). */
    public NodeCache cache() {
        return cache;
    }

    public String formatName() {
        return driver.formatName();
    }

    public BlockNode file() {
        return file;
    }

    public BlockNode backing() {
        return backing;
    }

    public BlockNode child(ChildRole role) {
        return role == ChildRole.FILE ? file : backing;
    }

    void attach(ChildRole role, BlockNode child) {
        if (role == ChildRole.FILE) {
            file = child;
        } else {
            backing = child;
        }
    }

    /**
     * Points this node's backing child at {@code newBacking} (null: none). The caller drains the
     * node around the switch; the image header is changed separately with
     * {@link #changeBackingFile}.
     */
    public void replaceBacking(BlockNode newBacking) {
        if (!tracker.isQuiesced()) {
            throw new IllegalStateException("backing of " + nodeName + " changed without drain");
        }
        backing = newBacking;
    }

    /** The file name shown by {@code info block}: the host file under this node. */
    public String filename() {
        String own = driver.filename();
        if (own != null) {
            return own;
        }
        return file != null ? file.filename() : "";
    }

    /** The backing name as stored in this image (may be relative), or null. */
    public String backingFileName() {
        String override = backingFileOverride;
        return override != null ? override : driver.backingFileName();
    }

    /** Number of images below this one in the backing chain. */
    public int chainDepth() {
        int depth = 0;
        for (BlockNode n = backing; n != null; n = n.backing) {
            depth++;
        }
        return depth;
    }

    public boolean isReadOnly() {
        return readOnly;
    }

    /** Switches read-only / read-write (commit opens a backing file for writing). */
    public void setReadOnly(boolean ro) {
        if (ro == readOnly) {
            return;
        }
        if (driver instanceof SupportsReopen r) {
            r.reopen(ro);
        }
        if (file != null && !ro) {
            file.setReadOnly(false);
        }
        readOnly = ro;
    }

    /** detect-zeroes, discard and copy-on-read as this node was opened with them. */
    public RequestPolicy policy() {
        return policy;
    }

    /** Sets detect-zeroes/discard/copy-on-read; by whoever opened the node, before others use it. */
    public void setPolicy(RequestPolicy p) {
        policy = p;
    }

    // ---- op blockers ---------------------------------------------------------------------

    /** Why the node refuses new conflicting operations, e.g. {@code block device is in use by block job: stream}; null when free. */
    public String blocker() {
        return blocker;
    }

    public void setBlocker(String reason) {
        this.blocker = reason;
    }

    // ---- the request path ----------------------------------------------------------------

    public long size() {
        return driver.size();
    }

    /** Reads {@code dst.remaining()} bytes; the range must lie within the node. */
    public void read(long offset, ByteBuffer dst) {
        int len = dst.remaining();
        checkBounds(offset, len);
        if (len == 0) {
            return;
        }
        if (policy.copyOnRead() && backing != null && !readOnly) {
            // QEMU's copy-on-read: what only lower layers hold is first copied up, then read here
            copyOnRead(offset, len);
        }
        try (RequestTracker.Tracked t = tracker.begin(offset, len, false, false, 1)) {
            alignedRead(offset, dst);
        }
    }

    /**
     * Reads as a parent reads a child: the part at or beyond this node's size reads as zeros
     * (a backing file shorter than its overlay).
     */
    public void readPadded(long offset, ByteBuffer dst) {
        long size = size();
        int len = dst.remaining();
        long inside = Math.max(0, Math.min(len, size - offset));
        if (inside > 0) {
            ByteBuffer part = dst.duplicate();
            part.limit(part.position() + (int) inside);
            read(offset, part);
        }
        ByteBuffer tail = dst.duplicate();
        tail.position(dst.position() + (int) inside);
        Buffers.zero(tail);
        dst.position(dst.limit());
    }

    public void write(long offset, ByteBuffer src) {
        int len = src.remaining();
        checkWritable();
        checkBounds(offset, len);
        if (len == 0) {
            return;
        }
        RequestPolicy.DetectZeroes detect = policy.detectZeroes();
        if (detect != RequestPolicy.DetectZeroes.OFF && Buffers.isZero(src)) {
            // QEMU's detect-zeroes: the write becomes a zero write; with unmap it may free the
            // clusters whatever discard says (QEMU 7.2 does the same on -drive)
            zeroWrite(offset, len, detect == RequestPolicy.DetectZeroes.UNMAP);
            src.position(src.limit());
            return;
        }
        boolean padded = !aligned(offset, len);
        int serial = padded ? Math.max(driver.serialisationAlignment(), driver.requestAlignment())
                : driver.serialisationAlignment();
        writeNotifiers.write(offset, src, () -> {
            try (RequestTracker.Tracked t = tracker.begin(offset, len, true, padded, serial)) {
                alignedWrite(offset, src);
            }
        });
    }

    /** Writes zeros; {@code mayUnmap} (free the clusters) is dropped on a node with {@code discard=ignore}. */
    public void writeZeroes(long offset, long bytes, boolean mayUnmap) {
        checkWritable();
        checkBounds(offset, bytes);
        if (bytes == 0) {
            return;
        }
        zeroWrite(offset, bytes, mayUnmap && policy.unmap());
    }

    private void zeroWrite(long offset, long bytes, boolean mayUnmap) {
        // unmapping zero writes free clusters like a discard, so they serialise against reads too
        writeNotifiers.writeZeroes(offset, bytes, mayUnmap, () -> {
            try (RequestTracker.Tracked t = tracker.begin(offset, bytes, true, mayUnmap, driver.serialisationAlignment())) {
                if (driver instanceof SupportsWriteZeroes z && aligned(offset, bytes)) {
                    z.writeZeroes(offset, bytes, mayUnmap);
                } else {
                    Buffers.writeZeroBuffers(this::alignedWrite, offset, bytes);
                }
            }
        });
    }

    /** True when the driver can store compressed clusters ({@link #writeCompressed}). */
    public boolean supportsCompressedWrites() {
        return driver instanceof SupportsCompressedWrites;
    }

    /** The unit of {@link #writeCompressed} (the image's cluster size), or 0 when unsupported. */
    public int compressedClusterSize() {
        return driver instanceof SupportsCompressedWrites c ? c.compressedClusterSize() : 0;
    }

    /**
     * Writes {@code src} compressed: {@code offset} must be cluster aligned and the length whole
     * clusters, except that the range may end at the end of the node (a short last cluster).
     * Write notifiers see it like any write. Drivers without the ability refuse with UNSUPPORTED.
     */
    public void writeCompressed(long offset, ByteBuffer src) {
        int len = src.remaining();
        checkWritable();
        checkBounds(offset, len);
        if (!(driver instanceof SupportsCompressedWrites c)) {
            throw BlockException.unsupported("Compressed writes are not supported by the " + formatName()
                    + " format of '" + nodeName + "'");
        }
        int cs = c.compressedClusterSize();
        if (offset % cs != 0 || (len % cs != 0 && offset + len != size())) {
            throw BlockException.invalid("compressed write at " + offset + " of " + len
                    + " bytes is not made of whole " + cs + "-byte clusters");
        }
        if (len == 0) {
            return;
        }
        // to notifiers a compressed write is a write of these bytes (mirror's write-blocking mode)
        writeNotifiers.write(offset, src, () -> {
            try (RequestTracker.Tracked t = tracker.begin(offset, len, true, false, cs)) {
                for (int done = 0; done < len; done += cs) {
                    c.writeCompressed(offset + done, src.slice(src.position() + done, Math.min(cs, len - done)));
                }
                src.position(src.limit());
            }
        });
    }

    /** Discard is advisory: a driver that cannot discard, or a node with {@code discard=ignore}, ignores it, as QEMU does. */
    public void discard(long offset, long bytes) {
        checkWritable();
        checkBounds(offset, bytes);
        if (bytes == 0 || !policy.unmap() || !(driver instanceof SupportsDiscard d)) {
            return;
        }
        // serialising: a discard frees host clusters that a read still in flight may be about to
        // read, and a later allocation may reuse them for other data (QEMU serialises discards too)
        writeNotifiers.around(offset, bytes, () -> {
            try (RequestTracker.Tracked t = tracker.begin(offset, bytes, true, true, driver.serialisationAlignment())) {
                d.discard(offset, bytes);
            }
        });
    }

    public void flush() {
        if (readOnly) {
            return;
        }
        try (RequestTracker.Tracked t = tracker.begin(0, 1, false, false, 1)) {
            driver.flush();
        }
        BlockNode f = file;
        if (f != null) {
            f.flush();
        }
    }

    /** State of the first extent at {@code offset} in this layer, clipped to {@code bytes} and the node size. */
    public BlockStatus blockStatus(long offset, long bytes) {
        long size = size();
        if (offset < 0 || offset >= size || bytes <= 0) {
            throw BlockException.invalid("block status out of range: offset " + offset + " in node of " + size + " bytes");
        }
        BlockStatus s = driver.blockStatus(offset, Math.min(bytes, size - offset));
        if (s.offset() != offset) {
            throw new IllegalStateException(driver.formatName() + " returned status for the wrong offset");
        }
        return s;
    }

    /**
     * Copy-on-read of {@code [offset, offset+bytes)}: reads the range through the backing chain
     * and writes into this node the parts this layer does not hold yet, as one serialising
     * request so a guest write to the range waits for it (and it for the guest write). Parts
     * already allocated here are never overwritten: they are newer than anything below.
     *
     * @return bytes actually written into this node
     */
    public long copyOnRead(long offset, int bytes) {
        checkWritable();
        checkBounds(offset, bytes);
        return CopyOnRead.copy(driver, tracker, size(), offset, bytes);
    }

    /**
     * Writes the changed backing file name into the image header (when the driver can) and
     * remembers it for display. Used at the end of stream and commit.
     */
    public void changeBackingFile(String backingName, String backingFormat) {
        if (driver instanceof SupportsBackingChange c) {
            c.changeBackingFile(backingName, backingFormat);
        } else if (backingName != null) {
            throw BlockException.unsupported("Backing file not supported for file format '" + formatName() + "'");
        }
        backingFileOverride = null;
    }

    // ---- drain ------------------------------------------------------------------------------

    /** A drained section: new requests wait until it is closed. */
    public interface Drained extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Quiesces the node: jobs using it are asked to pause, new requests wait, and this returns once
     * every request in flight has completed. Close the result to let requests flow again.
     */
    public Drained drain() {
        for (DrainListener l : drainListeners) {
            l.drainBegin(this);
        }
        tracker.quiesce();
        return () -> {
            tracker.resume();
            for (DrainListener l : drainListeners) {
                l.drainEnd(this);
            }
        };
    }

    public void addDrainListener(DrainListener l) {
        drainListeners.add(l);
    }

    public void removeDrainListener(DrainListener l) {
        drainListeners.remove(l);
    }

    public void addWriteNotifier(WriteNotifier n) {
        writeNotifiers.add(n);
    }

    public void removeWriteNotifier(WriteNotifier n) {
        writeNotifiers.remove(n);
    }

    /** Requests in flight on this node now (tests, statistics). */
    public int inFlightRequests() {
        return tracker.inFlightCount();
    }

    void closeDriver() {
        driver.close();
    }

    // ---- helpers -----------------------------------------------------------------------------

    private boolean aligned(long offset, long len) {
        return AlignedIo.aligned(driver, offset, len);
    }

    /** Read with head/tail padding to the driver's alignment. Caller holds a tracked request. */
    private void alignedRead(long offset, ByteBuffer dst) {
        AlignedIo.read(driver, offset, dst);
    }

    /** Write with read-modify-write of partial head/tail blocks. Caller holds a tracked (serialising when padded) request. */
    private void alignedWrite(long offset, ByteBuffer src) {
        AlignedIo.write(driver, size(), offset, src);
    }

    private void checkBounds(long offset, long len) {
        long size = size();
        if (offset < 0 || len < 0 || offset > size || len > size - offset) {
            throw BlockException.invalid("request out of range: offset " + offset + " length " + len
                    + " in '" + nodeName + "' of " + size + " bytes");
        }
    }

    private void checkWritable() {
        if (readOnly) {
            throw new BlockException(BlockException.Kind.PERMISSION, "Block node is read-only");
        }
    }

    @Override
    public String toString() {
        return nodeName + ": " + filename() + " (" + formatName() + ")";
    }
}
