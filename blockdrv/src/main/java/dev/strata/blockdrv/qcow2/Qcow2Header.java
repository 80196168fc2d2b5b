package dev.strata.blockdrv.qcow2;

import static dev.strata.blockdrv.qcow2.Qcow2Format.*;

import dev.strata.blockdrv.BlockException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The qcow2 header and its extensions: parsing with every open-time check QEMU makes, and
 * serialising the whole of cluster 0 the way {@code qcow2_update_header} does (header, known
 * extensions, unknown extensions verbatim, end marker, backing name).
 *
 * <p>Not thread safe: the driver keeps one instance and changes it only under its metadata lock.
 */
final class Qcow2Header {

    int version;
    long backingFileOffset;
    int backingFileSize;
    int clusterBits;
    long size;
    int cryptMethod;
    int l1Size;
    long l1TableOffset;
    long refcountTableOffset;
    int refcountTableClusters;
    int nbSnapshots;
    long snapshotsOffset;
    long incompatible;
    long compatible;
    long autoclear;
    int refcountOrder = DEFAULT_REFCOUNT_ORDER;
    int headerLength;
    int compressionType;
    /** Header bytes past the 112 QEMU knows, kept verbatim (a zero field means "absent"). */
    byte[] unknownFields = new byte[0];
    String backingFile;
    String backingFormat;
    byte[] bitmapsExtension;
    final List<HeaderExtension> unknownExtensions = new ArrayList<>();
    /** Feature names from the image's own table: {type, bit} to name, for messages only. */
    final List<Object[]> featureNames = new ArrayList<>();

    int clusterSize() {
        return 1 << clusterBits;
    }

    boolean extendedL2() {
        return (incompatible & INCOMPAT_EXTL2) != 0;
    }

    int l2EntryBytes() {
        return extendedL2() ? 16 : 8;
    }

    int l2Entries() {
        return clusterSize() / l2EntryBytes();
    }

    int refcountBits() {
        return 1 << refcountOrder;
    }

    /** Reads cluster_bits from the first bytes so the caller knows how much of cluster 0 to load. */
    static int peekClusterBits(ByteBuffer head) {
        if (head.remaining() < 24 || head.getInt(0) != MAGIC) {
            throw new BlockException(BlockException.Kind.INVALID_FORMAT, "Image is not in qcow2 format");
        }
        int bits = head.getInt(OFF_CLUSTER_BITS);
        if (bits < MIN_CLUSTER_BITS || bits > MAX_CLUSTER_BITS) {
            throw new BlockException(BlockException.Kind.INVALID_FORMAT, "Unsupported cluster size: 2^" + Integer.toUnsignedString(bits));
        }
        return bits;
    }

    /** Parses and validates cluster 0 ({@code buf} holds the whole cluster, zero padded past EOF). */
    static Qcow2Header parse(ByteBuffer buf) {
        Qcow2Header h = new Qcow2Header();
        if (buf.getInt(0) != MAGIC) {
            throw format("Image is not in qcow2 format");
        }
        h.version = buf.getInt(OFF_VERSION);
        if (h.version != 2 && h.version != 3) {
            throw new BlockException(BlockException.Kind.UNSUPPORTED, "Unsupported qcow2 version " + Integer.toUnsignedString(h.version));
        }
        h.clusterBits = peekClusterBits(buf);
        int cs = h.clusterSize();
        h.backingFileOffset = buf.getLong(OFF_BACKING_FILE_OFFSET);
        h.backingFileSize = buf.getInt(OFF_BACKING_FILE_SIZE);
        h.size = buf.getLong(OFF_SIZE);
        h.cryptMethod = buf.getInt(OFF_CRYPT_METHOD);
        h.l1Size = buf.getInt(OFF_L1_SIZE);
        h.l1TableOffset = buf.getLong(OFF_L1_TABLE_OFFSET);
        h.refcountTableOffset = buf.getLong(OFF_REFCOUNT_TABLE_OFFSET);
        h.refcountTableClusters = buf.getInt(OFF_REFCOUNT_TABLE_CLUSTERS);
        h.nbSnapshots = buf.getInt(OFF_NB_SNAPSHOTS);
        h.snapshotsOffset = buf.getLong(OFF_SNAPSHOTS_OFFSET);
        if (h.version == 2) {
            h.refcountOrder = DEFAULT_REFCOUNT_ORDER;
            h.headerLength = V2_HEADER_LENGTH;
        } else {
            h.incompatible = buf.getLong(OFF_INCOMPATIBLE);
            h.compatible = buf.getLong(OFF_COMPATIBLE);
            h.autoclear = buf.getLong(OFF_AUTOCLEAR);
            h.refcountOrder = buf.getInt(OFF_REFCOUNT_ORDER);
            h.headerLength = buf.getInt(OFF_HEADER_LENGTH);
            if (Integer.compareUnsigned(h.headerLength, V3_MIN_HEADER_LENGTH) < 0) {
                throw format("qcow2 header too short");
            }
            if (Integer.compareUnsigned(h.headerLength, cs) > 0) {
                throw format("qcow2 header exceeds cluster size");
            }
            if (h.headerLength > OFF_COMPRESSION_TYPE) {
                h.compressionType = buf.get(OFF_COMPRESSION_TYPE) & 0xFF;
            }
            if (h.headerLength > V3_HEADER_LENGTH) {
                h.unknownFields = new byte[h.headerLength - V3_HEADER_LENGTH];
                buf.get(V3_HEADER_LENGTH, h.unknownFields);
            }
        }
        if (h.backingFileOffset < 0 || h.backingFileOffset > cs) {
            throw format("Invalid backing file offset");
        }
        h.parseExtensions(buf);
        h.checkFeatures();
        if (Integer.compareUnsigned(h.refcountOrder, MAX_REFCOUNT_ORDER) > 0) {
            throw format("Reference count entry width too large; may not exceed 64 bits");
        }
        if (h.size < 0) {
            throw format("Image size too large: " + Long.toUnsignedString(h.size));
        }
        h.checkTables();
        h.readBackingName(buf);
        return h;
    }

    private void checkFeatures() {
        long unknown = incompatible & ~INCOMPAT_KNOWN;
        if (unknown != 0) {
            List<String> parts = new ArrayList<>();
            for (Object[] f : featureNames) {
                int bit = (Integer) f[1];
                if ((Integer) f[0] == 0 && bit < 64 && (unknown & (1L << bit)) != 0) {
                    parts.add((String) f[2]);
                    unknown &= ~(1L << bit);
                }
            }
            if (unknown != 0) {
                parts.add("Unknown incompatible feature: " + Long.toHexString(unknown));
            }
            throw new BlockException(BlockException.Kind.UNSUPPORTED, "Unsupported qcow2 feature(s): " + String.join(", ", parts));
        }
        if (cryptMethod != 0) {
            throw BlockException.unsupported("Encrypted qcow2 images (crypt_method " + Integer.toUnsignedString(cryptMethod)
                    + (cryptMethod == 1 ? ", AES" : cryptMethod == 2 ? ", LUKS" : "") + ") are not supported by Strata");
        }
        if ((incompatible & INCOMPAT_DATA_FILE) != 0 || (autoclear & AUTOCLEAR_DATA_FILE_RAW) != 0) {
            throw BlockException.unsupported("qcow2 images with an external data file are not supported by Strata");
        }
        boolean compressionBit = (incompatible & INCOMPAT_COMPRESSION) != 0;
        if (compressionType > 1) {
            throw format("Unknown compression type " + compressionType);
        }
        if (compressionBit != (compressionType != 0)) {
            throw format(compressionBit ? "Compression type incompatible feature bit must not be set"
                    + " when compression type is zlib" : "Compression type incompatible feature bit must be set");
        }
        if (compressionType == 1) {
            throw BlockException.unsupported("qcow2 compression type 'zstd' is not supported by Strata (only zlib)");
        }
        if (extendedL2() && clusterBits < MIN_EXTENDED_L2_CLUSTER_BITS) {
            throw format("Extended L2 entries are only supported with cluster sizes of at least "
                    + (1 << MIN_EXTENDED_L2_CLUSTER_BITS) + " bytes");
        }
    }

    private void checkTables() {
        int cs = clusterSize();
        if (refcountTableClusters == 0) {
            throw format("Image does not contain a reference count table");
        }
        long reftableBytes = Integer.toUnsignedLong(refcountTableClusters) * cs;
        if (reftableBytes > MAX_REFTABLE_BYTES) {
            throw format("Reference count table too large");
        }
        checkTableOffset(refcountTableOffset, reftableBytes, "Invalid reference count table offset");
        long l1Bytes = Integer.toUnsignedLong(l1Size) * 8;
        if (l1Bytes > MAX_L1_BYTES) {
            throw format("Active L1 table too large");
        }
        if (l1Size > 0) {
            checkTableOffset(l1TableOffset, l1Bytes, "Invalid L1 table offset");
        }
        long needed = requiredL1Size(size, clusterBits, l2Entries());
        if (needed > l1Size) {
            throw format("L1 table is too small");
        }
        if (Integer.compareUnsigned(nbSnapshots, 65536) > 0) {
            throw format("Too many snapshots");
        }
        if (nbSnapshots != 0) {
            checkTableOffset(snapshotsOffset, 0, "Invalid snapshot table offset");
        }
    }

    private void checkTableOffset(long offset, long bytes, String message) {
        if (offset < 0 || (offset & (clusterSize() - 1)) != 0 || offset > Long.MAX_VALUE - bytes) {
            throw format(message);
        }
    }

    /** L1 entries needed to map {@code size} guest bytes. */
    static long requiredL1Size(long size, int clusterBits, int l2Entries) {
        long clusters = (size >> clusterBits) + ((size & ((1L << clusterBits) - 1)) != 0 ? 1 : 0);
        return (clusters + l2Entries - 1) / l2Entries;
    }

    private void parseExtensions(ByteBuffer buf) {
        int cs = clusterSize();
        long end = backingFileOffset != 0 ? backingFileOffset : cs;
        long off = headerLength;
        while (off + 8 <= end) {
            int type = buf.getInt((int) off);
            long len = Integer.toUnsignedLong(buf.getInt((int) off + 4));
            if (type == EXT_END) {
                return;
            }
            if (off + 8 + len > end) {
                throw format("Header extension too large");
            }
            byte[] data = new byte[(int) len];
            buf.get((int) off + 8, data);
            switch (type) {
                case EXT_BACKING_FORMAT -> {
                    if (len >= MAX_BACKING_FORMAT) {
                        throw format("ERROR: ext_backing_format: len=" + len + " too large (>=" + MAX_BACKING_FORMAT + ")");
                    }
                    int n = 0;
                    while (n < data.length && data[n] != 0) {
                        n++;
                    }
                    backingFormat = new String(data, 0, n, StandardCharsets.UTF_8);
                }
                case EXT_FEATURE_TABLE -> {
                    for (int i = 0; i + FEATURE_ENTRY_BYTES <= data.length; i += FEATURE_ENTRY_BYTES) {
                        int n = 0;
                        while (n < 46 && data[i + 2 + n] != 0) {
                            n++;
                        }
                        featureNames.add(new Object[] {data[i] & 0xFF, data[i + 1] & 0xFF,
                            new String(data, i + 2, n, StandardCharsets.UTF_8)});
                    }
                }
                case EXT_BITMAPS -> bitmapsExtension = data;
                case EXT_CRYPTO -> throw BlockException.unsupported("Encrypted qcow2 images (LUKS) are not supported by Strata");
                case EXT_DATA_FILE -> throw BlockException.unsupported("qcow2 images with an external data file are not supported by Strata");
                default -> unknownExtensions.add(new HeaderExtension(type, data));
            }
            off += 8 + ((len + 7) & ~7L);
        }
    }

    private void readBackingName(ByteBuffer buf) {
        if (backingFileOffset == 0) {
            return;
        }
        int cs = clusterSize();
        long max = Math.min(MAX_BACKING_NAME, cs - backingFileOffset);
        if (Integer.toUnsignedLong(backingFileSize) > max) {
            throw format("Backing file name too long");
        }
        byte[] name = new byte[backingFileSize];
        buf.get((int) backingFileOffset, name);
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++; // QEMU keeps the name as a C string: a NUL ends it
        }
        backingFile = new String(name, 0, len, StandardCharsets.UTF_8);
        if (backingFile.isEmpty()) {
            backingFile = null;
        }
    }

    /**
     * The whole of cluster 0 as QEMU writes it. Fails when the extensions and backing name do not
     * fit in one cluster.
     */
    ByteBuffer serialize() {
        int cs = clusterSize();
        ByteBuffer b = ByteBuffer.allocate(cs);
        b.putInt(0, MAGIC);
        b.putInt(OFF_VERSION, version);
        b.putInt(OFF_CLUSTER_BITS, clusterBits);
        b.putLong(OFF_SIZE, size);
        b.putInt(OFF_CRYPT_METHOD, cryptMethod);
        b.putInt(OFF_L1_SIZE, l1Size);
        b.putLong(OFF_L1_TABLE_OFFSET, l1TableOffset);
        b.putLong(OFF_REFCOUNT_TABLE_OFFSET, refcountTableOffset);
        b.putInt(OFF_REFCOUNT_TABLE_CLUSTERS, refcountTableClusters);
        b.putInt(OFF_NB_SNAPSHOTS, nbSnapshots);
        b.putLong(OFF_SNAPSHOTS_OFFSET, snapshotsOffset);
        int off;
        if (version >= 3) {
            headerLength = V3_HEADER_LENGTH + unknownFields.length;
            b.putLong(OFF_INCOMPATIBLE, incompatible);
            b.putLong(OFF_COMPATIBLE, compatible);
            b.putLong(OFF_AUTOCLEAR, autoclear);
            b.putInt(OFF_REFCOUNT_ORDER, refcountOrder);
            b.putInt(OFF_HEADER_LENGTH, headerLength);
            b.put(OFF_COMPRESSION_TYPE, (byte) compressionType);
            b.put(V3_HEADER_LENGTH, unknownFields);
            off = headerLength;
        } else {
            off = V2_HEADER_LENGTH;
        }
        if (backingFile != null && backingFormat != null) {
            off = putExtension(b, off, EXT_BACKING_FORMAT, backingFormat.getBytes(StandardCharsets.UTF_8));
        }
        if (version >= 3 && cs > 4096) {
            byte[] table = new byte[FEATURE_NAMES.length * FEATURE_ENTRY_BYTES];
            for (int i = 0; i < FEATURE_NAMES.length; i++) {
                table[i * FEATURE_ENTRY_BYTES] = (byte) (int) (Integer) FEATURE_NAMES[i][0];
                table[i * FEATURE_ENTRY_BYTES + 1] = (byte) (int) (Integer) FEATURE_NAMES[i][1];
                byte[] name = ((String) FEATURE_NAMES[i][2]).getBytes(StandardCharsets.UTF_8);
                System.arraycopy(name, 0, table, i * FEATURE_ENTRY_BYTES + 2, name.length);
            }
            off = putExtension(b, off, EXT_FEATURE_TABLE, table);
        }
        if (bitmapsExtension != null) {
            off = putExtension(b, off, EXT_BITMAPS, bitmapsExtension);
        }
        for (HeaderExtension e : unknownExtensions) {
            off = putExtension(b, off, e.type(), e.data());
        }
        off = putExtension(b, off, EXT_END, new byte[0]);
        if (backingFile != null) {
            byte[] name = backingFile.getBytes(StandardCharsets.UTF_8);
            if (name.length > MAX_BACKING_NAME || off + name.length > cs) {
                throw BlockException.invalid("Backing file name too long");
            }
            b.put(off, name);
            b.putLong(OFF_BACKING_FILE_OFFSET, off);
            b.putInt(OFF_BACKING_FILE_SIZE, name.length);
            backingFileOffset = off;
            backingFileSize = name.length;
        } else {
            backingFileOffset = 0;
            backingFileSize = 0;
        }
        return b;
    }

    private static int putExtension(ByteBuffer b, int off, int type, byte[] data) {
        int padded = (data.length + 7) & ~7;
        if ((long) off + 8 + padded > b.capacity()) {
            throw BlockException.invalid("Header extensions do not fit in the first cluster");
        }
        b.putInt(off, type);
        b.putInt(off + 4, data.length);
        b.put(off + 8, data);
        return off + 8 + padded;
    }

    private static BlockException format(String message) {
        return new BlockException(BlockException.Kind.INVALID_FORMAT, message);
    }
}
