package dev.strata.device.virtio;

/**
 * One parsed virtio-blk request: what {@link BlkRequestParser#parse} extracts from a descriptor
 * chain, copied out of guest memory so the guest cannot change it while it runs (descriptor
 * fields are read once). Preallocated per descriptor head and refilled by every parse, so the
 * steady request path allocates nothing.
 *
 * <p>Thread safety: owned by one request at a time: filled by the device's iothread, then handed
 * to that head's worker; the hand-off (a volatile write/read in the worker) publishes it.
 */
public final class BlkRequest {

    /** Head descriptor index: the id the completion carries back. */
    int head;
    /** Request type ({@link VirtioBlkSpec#T_IN} ...). */
    int type;
    /** First sector (512-byte units). */
    long sector;
    /** Number of data segments in {@link #segAddr}/{@link #segLen}. */
    int segCount;
    final long[] segAddr;
    final int[] segLen;
    /** Total data bytes across the segments. */
    long dataLen;
    /** Guest address of the status byte, or -1 when the chain has none. */
    long statusAddr;
    /** Discard / write-zeroes ranges, copied out of guest memory. */
    int rangeCount;
    final long[] rangeSector;
    final int[] rangeSectors;
    final int[] rangeFlags;

    /**
     * @param maxSegments the device's {@code seg_max}
     * @param maxRanges   the larger of {@code max_discard_seg} and {@code max_write_zeroes_seg}
     */
    public BlkRequest(int maxSegments, int maxRanges) {
        segAddr = new long[maxSegments];
        segLen = new int[maxSegments];
        rangeSector = new long[maxRanges];
        rangeSectors = new int[maxRanges];
        rangeFlags = new int[maxRanges];
    }

    void reset(int head) {
        this.head = head;
        type = -1;
        sector = 0;
        segCount = 0;
        dataLen = 0;
        statusAddr = -1;
        rangeCount = 0;
    }

    public int head() {
        return head;
    }

    public int type() {
        return type;
    }

    public long sector() {
        return sector;
    }

    public int segmentCount() {
        return segCount;
    }

    public long segmentAddress(int i) {
        return segAddr[i];
    }

    public int segmentLength(int i) {
        return segLen[i];
    }

    public long dataLength() {
        return dataLen;
    }

    public long statusAddress() {
        return statusAddr;
    }

    public int rangeCount() {
        return rangeCount;
    }

    public long rangeSector(int i) {
        return rangeSector[i];
    }

    public int rangeSectors(int i) {
        return rangeSectors[i];
    }

    public int rangeFlags(int i) {
        return rangeFlags[i];
    }

    /** Byte offset on the disk of the first sector. */
    public long offset() {
        return sector << VirtioBlkSpec.SECTOR_SHIFT;
    }

    @Override
    public String toString() {
        return "BlkRequest[head=" + head + " type=" + type + " sector=" + sector + " segments=" + segCount
                + " bytes=" + dataLen + " ranges=" + rangeCount + "]";
    }
}
