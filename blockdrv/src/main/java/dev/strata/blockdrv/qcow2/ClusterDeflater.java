package dev.strata.blockdrv.qcow2;

import java.util.zip.Deflater;

/**
 * Compresses one cluster into a raw deflate stream whose back-references never reach further
 * than 4 KiB, the window QEMU declares for qcow2 ({@code deflateInit2(..., -12, ...)} and
 * {@code inflateInit2(-12)}).
 *
 * <p>Why the detour: the JDK's {@link Deflater} always uses a 32 KiB window. QEMU 7.2 happens to
 * decode longer distances because it inflates a whole cluster in one call, but any reader that
 * inflates in pieces with a 4 KiB window (newer QEMU code paths, other tools) would fail with
 * "invalid distance too far back". So the input is fed in {@link #CHUNK}-byte pieces; after each
 * piece a full flush makes the compressor forget its history, and the previous
 * {@link #HISTORY} bytes are handed back as a preset dictionary (allowed for raw deflate right
 * after a flush). A match can therefore reach at most {@code HISTORY + CHUNK - 1 = 4095} bytes
 * back. The cost is a block boundary every 2 KiB, roughly 10 % larger output than zlib with a
 * real 4 KiB window.
 *
 * <p>Stateless; each call uses its own {@link Deflater}, so any thread may call it.
 */
final class ClusterDeflater {

    static final int CHUNK = 2048;
    static final int HISTORY = 4096 - CHUNK;

    private ClusterDeflater() {
    }

    /**
     * Deflates {@code in} into {@code out}; returns the stream length, or -1 when it does not fit
     * into {@code out.length} bytes (the caller then stores the cluster uncompressed).
     */
    static int compress(byte[] in, byte[] out) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        try {
            int n = 0;
            for (int off = 0; off < in.length; off += CHUNK) {
                if (off > 0) {
                    int h = Math.min(HISTORY, off);
                    d.setDictionary(in, off - h, h);
                }
                int len = Math.min(CHUNK, in.length - off);
                d.setInput(in, off, len);
                if (off + len < in.length) {
                    // a flushing deflate that filled the whole output space may have more to give
                    while (true) {
                        int space = out.length - n;
                        if (space == 0) {
                            return -1;
                        }
                        int k = d.deflate(out, n, space, Deflater.FULL_FLUSH);
                        n += k;
                        if (k < space) {
                            break;
                        }
                    }
                } else {
                    d.finish();
                    while (!d.finished()) {
                        if (n == out.length) {
                            return -1;
                        }
                        n += d.deflate(out, n, out.length - n);
                    }
                }
            }
            return n;
        } finally {
            d.end();
        }
    }
}
