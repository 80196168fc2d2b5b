package dev.strata.blockdrv.qcow2;

import dev.strata.blockdrv.BlockException;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reading compressed clusters: the descriptor gives a byte offset and a sector count, the bytes
 * are one raw deflate stream (zlib without header, QEMU's {@code inflateInit2(-12)}) that
 * decompresses to exactly one cluster. Trailing input is ignored, and the stream need not
 * report its end (QEMU accepts {@code Z_BUF_ERROR}). Stateless; callable from any thread.
 */
final class CompressedClusters {

    private CompressedClusters() {
    }

    /** Decompresses the cluster of L2 entry {@code entry} into a new cluster-sized buffer. */
    static ByteBuffer read(HostFile host, long entry, int clusterBits) {
        int clusterSize = 1 << clusterBits;
        long coffset = Qcow2Format.compressedOffset(entry, clusterBits);
        int csize = Qcow2Format.compressedSize(entry, clusterBits);
        if (csize <= 0 || csize > 2 * clusterSize) {
            throw BlockException.corrupt("Image is corrupt: compressed cluster at 0x" + Long.toHexString(coffset)
                    + " has an invalid size " + csize);
        }
        // one spare zero byte: the JDK's nowrap Inflater may need it to finish the stream
        byte[] in = new byte[csize + 1];
        host.read(coffset, ByteBuffer.wrap(in, 0, csize));
        byte[] out = new byte[clusterSize];
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(in);
            int n = 0;
            while (n < clusterSize) {
                int got = inf.inflate(out, n, clusterSize - n);
                if (got == 0) {
                    if (inf.finished() || inf.needsInput() || inf.needsDictionary()) {
                        break;
                    }
                }
                n += got;
            }
            if (n < clusterSize) {
                throw BlockException.corrupt("Image is corrupt: compressed cluster at 0x" + Long.toHexString(coffset)
                        + " decompresses to " + n + " bytes instead of " + clusterSize);
            }
        } catch (DataFormatException e) {
            throw new BlockException(BlockException.Kind.CORRUPT, "Image is corrupt: compressed cluster at 0x"
                    + Long.toHexString(coffset) + " cannot be decompressed: " + e.getMessage(), e);
        } finally {
            inf.end();
        }
        return ByteBuffer.wrap(out);
    }
}
