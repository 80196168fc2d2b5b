package dev.strata.device.virtio;

/**
 * Generic virtio 1.x numbers (split virtqueues), from "Virtual I/O Device (VIRTIO) Version 1.1",
 * OASIS, section numbers given per constant. Block-device numbers are in {@link VirtioBlkSpec}.
 */
public final class VirtioSpec {

    private VirtioSpec() {
    }

    /** §2.6.5 {@code struct virtq_desc}: le64 addr, le32 len, le16 flags, le16 next. */
    public static final int DESC_SIZE = 16;
    /** Offset of {@code addr} in a descriptor. */
    public static final int DESC_ADDR = 0;
    /** Offset of {@code len} in a descriptor. */
    public static final int DESC_LEN = 8;
    /** Offset of {@code flags} in a descriptor. */
    public static final int DESC_FLAGS = 12;
    /** Offset of {@code next} in a descriptor. */
    public static final int DESC_NEXT = 14;

    /** §2.6.5 VIRTQ_DESC_F_NEXT: the buffer continues via {@code next}. */
    public static final int VIRTQ_DESC_F_NEXT = 1;
    /** §2.6.5 VIRTQ_DESC_F_WRITE: the buffer is device write-only (otherwise device read-only). */
    public static final int VIRTQ_DESC_F_WRITE = 2;
    /** §2.6.5.3 VIRTQ_DESC_F_INDIRECT: the buffer holds a table of descriptors. */
    public static final int VIRTQ_DESC_F_INDIRECT = 4;

    /** §2.6: queue size is a power of 2 no larger than 32768. */
    public static final int MAX_QUEUE_SIZE = 32768;

    /** §6.1 VIRTIO_F_VERSION_1 (bit 32): the device complies with 1.x. */
    public static final long VIRTIO_F_VERSION_1 = 1L << 32;
    /** §6.1 VIRTIO_F_INDIRECT_DESC (bit 28); Strata does not offer it. */
    public static final long VIRTIO_F_INDIRECT_DESC = 1L << 28;
}
