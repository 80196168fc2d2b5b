package dev.strata.jobs.mirror;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.WriteNotifier;
import java.nio.ByteBuffer;

/**
 * The mirror's write notifier on the source. In background mode (and whenever write-through is
 * off) it marks what a guest write touched dirty once the write is done. In write-blocking mode
 * ({@code copy-mode: write-blocking}) it also carries each guest write to the target before the
 * guest sees it complete: it claims the write's granules before the source is written (waiting
 * for a background copy of them to land), writes the same bytes to the target after the source
 * write succeeded, and only then lets the write complete. Granules written whole are clean
 * afterwards, so the dirty set can only shrink however fast the guest writes, and the job
 * converges. A failed target write leaves the range dirty and goes to the job's
 * {@code on-target-error} policy; the guest's own write still succeeds, as in QEMU.
 *
 * <p>Runs on guest (writer) threads. The claim of a write in progress lives in a thread-local,
 * because {@code beforeWrite}, {@code written} and {@code afterWrite} of one request run on the
 * writer's thread in that order; everything shared is in the {@link MirrorBitmap}.
 */
final class WriteThrough implements WriteNotifier {

    /** What the notifier needs from its job. */
    interface Owner {
        /** Whether guest writes are carried to the target now (write-blocking, set up, not failed or cancelled). */
        boolean writeThrough();

        /** Bytes carried to the target (progress). */
        void carried(long bytes);

        /** A target write failed; the range is already dirty again. */
        void targetFailed(BlockException error);
    }

    /** One guest write between {@code beforeWrite} and {@code afterWrite}. */
    private static final class Pending {
        final long offset;
        final long bytes;
        final MirrorBitmap.Claim claim;
        boolean carried;

        Pending(long offset, long bytes, MirrorBitmap.Claim claim) {
            this.offset = offset;
            this.bytes = bytes;
            this.claim = claim;
        }
    }

    private final MirrorBitmap bitmap;
    private final BlockNode target;
    private final Owner owner;
    private final ThreadLocal<Pending> pending = new ThreadLocal<>();

    WriteThrough(MirrorBitmap bitmap, BlockNode target, Owner owner) {
        this.bitmap = bitmap;
        this.target = target;
        this.owner = owner;
    }

    @Override
    public void beforeWrite(BlockNode node, long offset, long bytes) {
        if (owner.writeThrough() && pending.get() == null) {
            pending.set(new Pending(offset, bytes, bitmap.claim(offset, bytes)));
        }
    }

    @Override
    public void written(BlockNode node, long offset, ByteBuffer data) {
        Pending p = mine(offset, data.remaining());
        if (p != null && owner.writeThrough()) {
            p.carried = carry(offset, data, data.remaining(), false);
        }
    }

    @Override
    public void zeroed(BlockNode node, long offset, long bytes, boolean mayUnmap) {
        Pending p = mine(offset, bytes);
        if (p != null && owner.writeThrough()) {
            p.carried = carry(offset, null, bytes, mayUnmap);
        }
    }

    @Override
    public void afterWrite(BlockNode node, long offset, long bytes) {
        Pending p = mine(offset, bytes);
        if (p == null) {
            bitmap.markDirty(offset, bytes);
            return;
        }
        pending.remove();
        // a write that was not carried (failed, discard, write-through switched off) is dirty
        // before the claim ends, so no background copy can miss it
        bitmap.release(p.claim, offset, bytes, !p.carried);
    }

    private Pending mine(long offset, long bytes) {
        Pending p = pending.get();
        return p != null && p.offset == offset && p.bytes == bytes ? p : null;
    }

    /** Writes the carried part of the guest write to the target; false when it failed. */
    private boolean carry(long offset, ByteBuffer data, long bytes, boolean mayUnmap) {
        long[] part = bitmap.throughRange(offset, offset + bytes);
        if (part == null) {
            return true;   // only dirty partial granules: the background copy sends them whole
        }
        int from = (int) (part[0] - offset);
        int len = (int) (part[1] - part[0]);
        try {
            if (data != null) {
                target.write(part[0], data.slice(data.position() + from, len));
            } else {
                target.writeZeroes(part[0], len, mayUnmap);
            }
        } catch (BlockException e) {
            bitmap.markDirty(part[0], len);
            owner.targetFailed(e);
            return false;
        }
        owner.carried(len);
        return true;
    }
}
