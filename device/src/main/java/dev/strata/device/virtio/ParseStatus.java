package dev.strata.device.virtio;

/**
 * The outcome of {@link BlkRequestParser#parse}: {@link #OK} or why the chain was refused and
 * which status byte completes it. A value, never an exception: guest input is not trusted, and a
 * malformed request is completed like any other. Constants, so refusing allocates nothing.
 */
public enum ParseStatus {
    OK(VirtioBlkSpec.S_OK, "ok"),
    // Chain structure broken: no trustworthy status byte, completed with used length 0
    BAD_QUEUE(-1, "descriptor table outside guest memory"),
    BAD_HEAD(-1, "head index beyond the queue size"),
    BAD_NEXT(-1, "descriptor 'next' beyond the queue size"),
    LOOP(-1, "descriptor chain longer than the queue (loop)"),
    INDIRECT(-1, "indirect descriptor without VIRTIO_F_INDIRECT_DESC"),
    NO_STATUS(-1, "no device-writable status byte at the end of the chain"),
    // Status byte found: completed with a status
    BAD_BUFFER(VirtioBlkSpec.S_IOERR, "buffer outside guest memory"),
    ORDER(VirtioBlkSpec.S_IOERR, "device-readable descriptor after a device-writable one"),
    BAD_HEADER(VirtioBlkSpec.S_IOERR, "request header is not one 16-byte device-readable descriptor"),
    STATUS_NOT_ALONE(VirtioBlkSpec.S_UNSUPP, "status byte shares its descriptor with data"),
    TOO_MANY_SEGMENTS(VirtioBlkSpec.S_IOERR, "more data segments than seg_max"),
    TOO_LONG(VirtioBlkSpec.S_IOERR, "chain longer than 2^32 bytes"),
    WRONG_DIRECTION(VirtioBlkSpec.S_IOERR, "data buffer has the wrong direction for the request type"),
    UNALIGNED(VirtioBlkSpec.S_IOERR, "sector or length not a multiple of the block size"),
    OUT_OF_RANGE(VirtioBlkSpec.S_IOERR, "request beyond the disk capacity"),
    READ_ONLY(VirtioBlkSpec.S_IOERR, "write to a read-only device"),
    UNEXPECTED_DATA(VirtioBlkSpec.S_IOERR, "flush carries data"),
    NO_ID_BUFFER(VirtioBlkSpec.S_IOERR, "GET_ID without one device-writable buffer"),
    BAD_RANGES(VirtioBlkSpec.S_IOERR, "discard/write-zeroes data is not whole 16-byte ranges"),
    TOO_MANY_RANGES(VirtioBlkSpec.S_IOERR, "more ranges than max_discard_seg/max_write_zeroes_seg"),
    RANGE_TOO_LARGE(VirtioBlkSpec.S_IOERR, "range longer than max_discard_sectors/max_write_zeroes_sectors"),
    BAD_FLAGS(VirtioBlkSpec.S_UNSUPP, "unknown or disallowed discard/write-zeroes flags"),
    UNSUPPORTED_TYPE(VirtioBlkSpec.S_UNSUPP, "unsupported request type");

    private final int status;
    private final String reason;

    ParseStatus(int status, String reason) {
        this.status = status;
        this.reason = reason;
    }

    /** The virtio status byte to complete with, or -1 when no status byte can be written. */
    public int status() {
        return status;
    }

    /** Why, in a few words (logs, tests). */
    public String reason() {
        return reason;
    }

    public boolean ok() {
        return this == OK;
    }
}
