package dev.strata.blockdrv.qcow2;

/**
 * The constants of the qcow2 specification (QEMU {@code docs/interop/qcow2.txt}, as QEMU 7.2
 * implements it). Every numeric fact the driver relies on lives here, each named after the spec
 * field it describes. Stateless.
 */
public final class Qcow2Format {

    private Qcow2Format() {
    }

    /** "QFI\xfb", bytes 0-3 of every qcow2 file. */
    public static final int MAGIC = 0x514649FB;

    // ---- header field offsets (big-endian) --------------------------------------------------
    static final int OFF_VERSION = 4;
    static final int OFF_BACKING_FILE_OFFSET = 8;
    static final int OFF_BACKING_FILE_SIZE = 16;
    static final int OFF_CLUSTER_BITS = 20;
    static final int OFF_SIZE = 24;
    static final int OFF_CRYPT_METHOD = 32;
    static final int OFF_L1_SIZE = 36;
    static final int OFF_L1_TABLE_OFFSET = 40;
    static final int OFF_REFCOUNT_TABLE_OFFSET = 48;
    static final int OFF_REFCOUNT_TABLE_CLUSTERS = 56;
    static final int OFF_NB_SNAPSHOTS = 60;
    static final int OFF_SNAPSHOTS_OFFSET = 64;
    static final int OFF_INCOMPATIBLE = 72;
    static final int OFF_COMPATIBLE = 80;
    static final int OFF_AUTOCLEAR = 88;
    static final int OFF_REFCOUNT_ORDER = 96;
    static final int OFF_HEADER_LENGTH = 100;
    static final int OFF_COMPRESSION_TYPE = 104;

    /** v2 headers are exactly this long; extensions follow directly. */
    static final int V2_HEADER_LENGTH = 72;
    /** Smallest legal v3 header_length. */
    static final int V3_MIN_HEADER_LENGTH = 104;
    /** What QEMU 7.2 writes as header_length for v3 (104 + compression type byte + padding). */
    static final int V3_HEADER_LENGTH = 112;

    static final int MIN_CLUSTER_BITS = 9;
    /** QEMU refuses clusters above 2 MiB. */
    static final int MAX_CLUSTER_BITS = 21;
    static final int DEFAULT_CLUSTER_BITS = 16;
    /** Extended L2 entries need clusters of at least 16 KiB (32 subclusters of 512 bytes). */
    static final int MIN_EXTENDED_L2_CLUSTER_BITS = 14;
    static final int MAX_REFCOUNT_ORDER = 6;
    static final int DEFAULT_REFCOUNT_ORDER = 4;

    /** QEMU's caps on table sizes in bytes: L1 32 MiB, refcount table 8 MiB. */
    static final long MAX_L1_BYTES = 32L << 20;
    static final long MAX_REFTABLE_BYTES = 8L << 20;
    static final int MAX_BACKING_NAME = 1023;
    /** The backing format extension holds names shorter than this. */
    static final int MAX_BACKING_FORMAT = 16;

    // ---- header extensions --------------------------------------------------------------------
    static final int EXT_END = 0x00000000;
    static final int EXT_BACKING_FORMAT = 0xE2792ACA;
    static final int EXT_FEATURE_TABLE = 0x6803F857;
    static final int EXT_BITMAPS = 0x23852875;
    static final int EXT_CRYPTO = 0x0537BE77;
    static final int EXT_DATA_FILE = 0x44415441;
    static final int FEATURE_ENTRY_BYTES = 48;

    // ---- feature bits -------------------------------------------------------------------------
    static final long INCOMPAT_DIRTY = 1L;
    static final long INCOMPAT_CORRUPT = 1L << 1;
    static final long INCOMPAT_DATA_FILE = 1L << 2;
    static final long INCOMPAT_COMPRESSION = 1L << 3;
    static final long INCOMPAT_EXTL2 = 1L << 4;
    static final long INCOMPAT_KNOWN = 0x1FL;
    static final long COMPAT_LAZY_REFCOUNTS = 1L;
    static final long AUTOCLEAR_BITMAPS = 1L;
    static final long AUTOCLEAR_DATA_FILE_RAW = 1L << 1;

    /** Feature table QEMU 7.2 writes, in its order: {type, bit, name}. */
    static final Object[][] FEATURE_NAMES = {
        {0, 0, "dirty bit"},
        {0, 1, "corrupt bit"},
        {0, 2, "external data file"},
        {0, 3, "compression type"},
        {0, 4, "extended L2 entries"},
        {1, 0, "lazy refcounts"},
        {2, 0, "bitmaps"},
        {2, 1, "raw external data"},
    };

    // ---- table entries ------------------------------------------------------------------------
    /** Bits 9-55: an L2 table / data cluster / refcount block offset. */
    static final long OFFSET_MASK = 0x00FFFFFFFFFFFE00L;
    static final long REFT_OFFSET_MASK = 0xFFFFFFFFFFFFFE00L;
    static final long REFT_RESERVED_MASK = 0x1FFL;
    static final long OFLAG_COPIED = 1L << 63;
    static final long OFLAG_COMPRESSED = 1L << 62;
    static final long OFLAG_ZERO = 1L;
    static final long L1E_RESERVED_MASK = 0x7F000000000001FFL;
    static final long L2E_STD_RESERVED_MASK = 0x3F000000000001FEL;
    static final long L2E_EXT_RESERVED_MASK = 0x3F000000000001FFL;
    static final int SUBCLUSTERS = 32;
    static final long SUBCLUSTER_ALLOC_MASK = 0xFFFFFFFFL;

    /** Compressed descriptor: bit position of the sector-count field for {@code clusterBits}. */
    static int compressedSectorShift(int clusterBits) {
        return 62 - (clusterBits - 8);
    }

    static long compressedOffsetMask(int clusterBits) {
        return (1L << compressedSectorShift(clusterBits)) - 1;
    }

    static long compressedSectorMask(int clusterBits) {
        return (1L << (clusterBits - 8)) - 1;
    }

    /** Host byte offset where the compressed stream of {@code entry} starts. */
    static long compressedOffset(long entry, int clusterBits) {
        return entry & compressedOffsetMask(clusterBits);
    }

    /** Bytes to read for the compressed stream of {@code entry}. */
    static int compressedSize(long entry, int clusterBits) {
        long coffset = compressedOffset(entry, clusterBits);
        long nsect = (entry >>> compressedSectorShift(clusterBits)) & compressedSectorMask(clusterBits);
        return (int) ((nsect + 1) * 512 - (coffset & 511));
    }
}
