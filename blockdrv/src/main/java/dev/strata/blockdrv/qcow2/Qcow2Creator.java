package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@code qemu-img create -f qcow2}: lays a new image out as QEMU does (cluster 0 header, then the
 * refcount table, the refcount block(s), the L1 table; nothing else; the file is not padded).
 * Stateless; callable from any thread.
 */
final class Qcow2Creator {

    private Qcow2Creator() {
    }

    /** The create options qemu-img knows for qcow2; anything else is refused as QEMU refuses it. */
    static final java.util.Set<String> KNOWN = java.util.Set.of("size", "compat", "backing_file", "backing_fmt",
            "encryption", "encrypt.format", "cluster_size", "preallocation", "lazy_refcounts", "refcount_bits",
            "data_file", "data_file_raw", "extended_l2", "compression_type");

    static void create(Path file, long size, BlockOptions o) {
        for (String k : o.keys()) {
            if (!KNOWN.contains(k)) {
                throw BlockException.invalid("Invalid parameter '" + k + "'");
            }
        }
        int clusterSize = (int) o.getSize("cluster_size", 1L << DEFAULT_CLUSTER_BITS);
        if (clusterSize < (1 << MIN_CLUSTER_BITS) || clusterSize > (1 << MAX_CLUSTER_BITS) || Integer.bitCount(clusterSize) != 1) {
            throw BlockException.invalid("Cluster size must be a power of two between 512 and 2048k");
        }
        int clusterBits = Integer.numberOfTrailingZeros(clusterSize);
        String compat = o.get("compat", "1.1");
        int version = switch (compat) {
            case "0.10", "v2" -> 2;
            case "1.1", "v3" -> 3;
            default -> throw BlockException.invalid("Invalid compat version '" + compat + "'; use 0.10 or 1.1");
        };
        boolean extendedL2 = o.getBool("extended_l2", false);
        boolean lazy = o.getBool("lazy_refcounts", false);
        int refcountBits = (int) o.getSize("refcount_bits", 16);
        if (refcountBits < 1 || refcountBits > 64 || Integer.bitCount(refcountBits) != 1) {
            throw BlockException.invalid("Refcount width must be a power of two and may not exceed 64 bits");
        }
        if (version < 3 && refcountBits != 16) {
            throw BlockException.invalid("Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
        }
        if (version < 3 && extendedL2) {
            throw BlockException.invalid("Extended L2 entries are only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
        }
        if (extendedL2 && clusterBits < MIN_EXTENDED_L2_CLUSTER_BITS) {
            throw BlockException.invalid("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
        }
        if (version < 3 && lazy) {
            throw BlockException.invalid("Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
        }
        String compression = o.get("compression_type", "zlib");
        if (!compression.equals("zlib")) {
            throw BlockException.unsupported("Compression type '" + compression + "' is not supported by Strata (only zlib)");
        }
        for (String unsupported : new String[] {"encryption", "encrypt.format", "data_file", "preallocation"}) {
            if (o.has(unsupported) && !(unsupported.equals("preallocation") && o.get(unsupported).equals("off"))) {
                throw BlockException.unsupported("qcow2 option '" + unsupported + "' is not supported by Strata");
            }
        }
        String backing = o.get("backing_file");
        String backingFmt = o.get("backing_fmt");
        if (backing != null && backing.isEmpty()) {
            backing = null;
        }
        if (backing != null) {
            Path resolved = resolve(file, backing);
            if (backingFmt == null) {
                backingFmt = probeFormat(resolved);
            }
            if (backingFmt.length() >= MAX_BACKING_FORMAT) {
                throw BlockException.invalid("Backing format name '" + backingFmt + "' is too long");
            }
            if (size < 0) {
                size = backingSize(resolved, backingFmt);
            }
        }
        if (size < 0) {
            throw BlockException.invalid("Image creation needs a size parameter");
        }
        if (size % 512 != 0) {
            throw BlockException.invalid("Image size must be a multiple of 512 bytes");
        }

        Qcow2Header h = new Qcow2Header();
        h.version = version;
        h.clusterBits = clusterBits;
        h.size = size;
        h.refcountOrder = Integer.numberOfTrailingZeros(refcountBits);
        h.headerLength = version >= 3 ? V3_HEADER_LENGTH : V2_HEADER_LENGTH;
        h.incompatible = extendedL2 ? INCOMPAT_EXTL2 : 0;
        h.compatible = lazy ? COMPAT_LAZY_REFCOUNTS : 0;
        h.backingFile = backing;
        h.backingFormat = backing == null ? null : backingFmt;
        long l1Size = Qcow2Header.requiredL1Size(size, clusterBits, h.l2Entries());
        if (l1Size * 8 > MAX_L1_BYTES) {
            throw BlockException.invalid("Image size too large for cluster size " + clusterSize);
        }
        h.l1Size = (int) l1Size;
        long l1Clusters = (l1Size * 8 + clusterSize - 1) / clusterSize;
        long rbEntries = (long) clusterSize * 8 / refcountBits;
        long reftableClusters = 1;
        long blocks = 1;
        while (true) {
            long total = 1 + reftableClusters + blocks + l1Clusters;
            long needBlocks = (total + rbEntries - 1) / rbEntries;
            long needTable = (needBlocks * 8 + clusterSize - 1) / clusterSize;
            if (needBlocks <= blocks && needTable <= reftableClusters) {
                break;
            }
            blocks = Math.max(blocks, needBlocks);
            reftableClusters = Math.max(reftableClusters, needTable);
        }
        if (reftableClusters * clusterSize > MAX_REFTABLE_BYTES) {
            throw BlockException.invalid("Image size too large for cluster size " + clusterSize);
        }
        h.refcountTableOffset = clusterSize;
        h.refcountTableClusters = (int) reftableClusters;
        long blocksOffset = (1 + reftableClusters) * clusterSize;
        h.l1TableOffset = l1Size == 0 ? 0 : blocksOffset + blocks * clusterSize;
        long used = 1 + reftableClusters + blocks + (l1Size == 0 ? 0 : l1Clusters);
        ByteBuffer cluster0 = h.serialize();

        ByteBuffer reftable = ByteBuffer.allocate((int) (reftableClusters * clusterSize));
        for (int b = 0; b < blocks; b++) {
            reftable.putLong(b * 8, blocksOffset + (long) b * clusterSize);
        }
        ByteBuffer rb = ByteBuffer.allocate((int) (blocks * clusterSize));
        Refcounts.fill(rb, refcountBits, used);
        // QEMU's locks first: never truncate an image another process (or this one) is using
        dev.strata.blockdrv.file.HostFileTable.Handle claim = dev.strata.blockdrv.file.HostFileTable.get().claimForCreate(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, cluster0.clear(), 0);
            writeFully(ch, reftable.clear(), clusterSize);
            writeFully(ch, rb.clear(), blocksOffset);
            if (l1Size > 0) {
                writeFully(ch, ByteBuffer.allocate((int) (l1Size * 8)), h.l1TableOffset);
            }
            ch.force(true);
        } catch (IOException e) {
            throw dev.strata.blockdrv.file.HostFiles.createFailed(file, e);
        } finally {
            claim.release();
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    /** A relative backing name is relative to the new image's directory, as QEMU resolves it on open. */
    static Path resolve(Path image, String backing) {
        Path p = Path.of(backing);
        if (p.isAbsolute()) {
            return p;
        }
        Path dir = image.toAbsolutePath().getParent();
        return dir == null ? p : dir.resolve(p);
    }

    private static String probeFormat(Path backing) {
        if (!Files.isRegularFile(backing)) {
            throw new BlockException(BlockException.Kind.NOT_FOUND, "Could not open backing file '" + backing
                    + "' to detect its format: No such file or directory");
        }
        try (FileChannel ch = FileChannel.open(backing, StandardOpenOption.READ)) {
            ByteBuffer m = ByteBuffer.allocate(4);
            ch.read(m, 0);
            return m.position() == 4 && m.getInt(0) == MAGIC ? "qcow2" : "raw";
        } catch (IOException e) {
            throw new BlockException(BlockException.Kind.IO, "Could not open backing file '" + backing + "': " + e.getMessage(), e);
        }
    }

    private static long backingSize(Path backing, String fmt) {
        BlockGraph g = new BlockGraph();
        try {
            BlockNode n = g.open(BlockOptions.empty().with("file", backing.toString()).with("driver", fmt)
                    .with("read-only", "on"));
            return n.size();
        } catch (BlockException e) {
            throw new BlockException(e.kind(), "Could not open backing image: " + e.getMessage(), e);
        } finally {
            g.closeAll();
        }
    }
}
