package dev.strata.device.virtio;

import dev.strata.device.GuestMemory;

/**
 * Turns one descriptor chain in guest memory into a {@link BlkRequest}, checking every rule a
 * device must not trust the driver on (virtio 1.1, sections cited per check). Pure apart from
 * filling the caller's preallocated {@link BlkRequest} (so the steady path allocates nothing): it
 * reads guest memory, never writes it, and never throws for anything the guest put there.
 *
 * <p>Chain layout accepted: a 16-byte device-readable header descriptor, zero or more data
 * descriptors, and a 1-byte device-writable status descriptor last (the layout Linux, SeaBIOS and
 * Windows drivers use). A status byte sharing its descriptor with data is refused with UNSUPP
 * rather than guessed at.
 *
 * <p>Thread safety: stateless; any thread.
 */
public final class BlkRequestParser {

    private BlkRequestParser() {
    }

    /**
     * Parses the chain starting at descriptor {@code head} of the table at {@code descTable}.
     *
     * @param out filled with the request; on a refusal its {@code statusAddress()} says where the
     *            status byte goes (-1: nowhere)
     * @return {@link ParseStatus#OK}, or the reason and status to complete with
     */
    public static ParseStatus parse(GuestMemory mem, long descTable, int queueSize, int head,
                                    VirtioBlkConfig cfg, BlkRequest out) {
        out.reset(head);
        // §2.6.5: the descriptor table is queue-size entries of 16 bytes in guest memory
        if (!mem.contains(descTable, (long) queueSize * VirtioSpec.DESC_SIZE)) {
            return ParseStatus.BAD_QUEUE;
        }
        // §2.6.6: an available-ring entry is the index of a chain head in the descriptor table
        if (head < 0 || head >= queueSize) {
            return ParseStatus.BAD_HEAD;
        }
        int idx = head;
        int count = 0;
        long headerAddr = 0;
        long headerLen = 0;
        boolean headerWritable = false;
        long lastAddr = 0;
        long lastLen = 0;
        boolean lastWritable = false;
        boolean havePending = false;
        boolean seenWritable = false;
        boolean dataAllWritable = true;
        boolean dataAllReadable = true;
        long total = 0;
        ParseStatus deferred = ParseStatus.OK;
        while (true) {
            // §2.6.5.2 / QEMU: a chain can never hold more descriptors than the queue; more means a loop
            if (++count > queueSize) {
                return ParseStatus.LOOP;
            }
            long d = descTable + (long) idx * VirtioSpec.DESC_SIZE;
            long addr = mem.getLong(d + VirtioSpec.DESC_ADDR);
            long len = mem.getInt(d + VirtioSpec.DESC_LEN) & 0xffffffffL;
            int flags = mem.getShort(d + VirtioSpec.DESC_FLAGS) & 0xffff;
            int next = mem.getShort(d + VirtioSpec.DESC_NEXT) & 0xffff;
            // §2.6.5.3.1: the driver MUST NOT set INDIRECT unless VIRTIO_F_INDIRECT_DESC was negotiated (we never offer it)
            if ((flags & VirtioSpec.VIRTQ_DESC_F_INDIRECT) != 0) {
                return ParseStatus.INDIRECT;
            }
            boolean writable = (flags & VirtioSpec.VIRTQ_DESC_F_WRITE) != 0;
            total += len;
            if (count == 1) {
                headerAddr = addr;
                headerLen = len;
                headerWritable = writable;
            } else {
                if (havePending) {
                    // the previous non-header descriptor was not the last: it is data
                    dataAllWritable &= lastWritable;
                    dataAllReadable &= !lastWritable;
                    if (out.segCount < Math.min(cfg.segMax(), out.segAddr.length)) {
                        out.segAddr[out.segCount] = lastAddr;
                        out.segLen[out.segCount] = (int) lastLen;
                        out.segCount++;
                        out.dataLen += lastLen;
                    } else if (deferred.ok()) {
                        // §5.2.3 VIRTIO_BLK_F_SEG_MAX: at most seg_max data segments per request
                        deferred = ParseStatus.TOO_MANY_SEGMENTS;
                    }
                }
                lastAddr = addr;
                lastLen = len;
                lastWritable = writable;
                havePending = true;
            }
            if (deferred.ok()) {
                if (!mem.contains(addr, len)) {
                    // §2.6.5: addr/len describe a buffer in guest memory
                    deferred = ParseStatus.BAD_BUFFER;
                } else if (writable) {
                    seenWritable = true;
                } else if (seenWritable) {
                    // §2.6.4.2: device-writable descriptors come after all device-readable ones
                    deferred = ParseStatus.ORDER;
                }
            }
            if ((flags & VirtioSpec.VIRTQ_DESC_F_NEXT) == 0) {
                break;
            }
            // §2.6.5: 'next' indexes the same descriptor table
            if (next >= queueSize) {
                return ParseStatus.BAD_NEXT;
            }
            idx = next;
        }
        // §5.2.6: the status byte is the last byte of the chain, device-writable
        if (count < 2 || !lastWritable || lastLen < 1 || !mem.contains(lastAddr, lastLen)) {
            return ParseStatus.NO_STATUS;
        }
        out.statusAddr = lastAddr + lastLen - 1;
        if (!deferred.ok()) {
            return deferred;
        }
        if (lastLen != 1) {
            return ParseStatus.STATUS_NOT_ALONE;
        }
        // §5.2.6: the header (type, reserved, sector) is device-readable and comes first
        if (headerWritable || headerLen != VirtioBlkSpec.HEADER_SIZE) {
            return ParseStatus.BAD_HEADER;
        }
        // §2.6.5: "Drivers MUST NOT add a descriptor chain longer than 2^32 bytes in total"
        if (total > (1L << 32)) {
            return ParseStatus.TOO_LONG;
        }
        out.type = mem.getInt(headerAddr + VirtioBlkSpec.HEADER_TYPE);
        out.sector = mem.getLong(headerAddr + VirtioBlkSpec.HEADER_SECTOR);
        return switch (out.type) {
            case VirtioBlkSpec.T_IN -> checkReadWrite(out, cfg, dataAllWritable, false);
            case VirtioBlkSpec.T_OUT -> checkReadWrite(out, cfg, dataAllReadable, true);
            // §5.2.6: a flush carries no data
            case VirtioBlkSpec.T_FLUSH -> out.segCount == 0 ? ParseStatus.OK : ParseStatus.UNEXPECTED_DATA;
            // §5.2.6: GET_ID writes up to VIRTIO_BLK_ID_BYTES into one device-writable buffer
            case VirtioBlkSpec.T_GET_ID -> out.segCount == 1 && dataAllWritable && out.dataLen > 0
                    ? ParseStatus.OK : ParseStatus.NO_ID_BUFFER;
            case VirtioBlkSpec.T_DISCARD -> checkRanges(mem, out, cfg, dataAllReadable, false);
            case VirtioBlkSpec.T_WRITE_ZEROES -> checkRanges(mem, out, cfg, dataAllReadable, true);
            // §5.2.6.2: a request type the device does not support completes with UNSUPP
            default -> ParseStatus.UNSUPPORTED_TYPE;
        };
    }

    private static ParseStatus checkReadWrite(BlkRequest out, VirtioBlkConfig cfg, boolean rightDirection, boolean write) {
        // §5.2.6: IN data is device-writable, OUT data device-readable
        if (!rightDirection) {
            return ParseStatus.WRONG_DIRECTION;
        }
        // §5.2.6.1: IN/OUT lengths are multiples of 512; §5.2.4 blk_size: requests aligned to it
        int sectorsPerBlock = cfg.blkSize() >> VirtioBlkSpec.SECTOR_SHIFT;
        if (out.dataLen % cfg.blkSize() != 0 || out.sector % sectorsPerBlock != 0) {
            return ParseStatus.UNALIGNED;
        }
        // §5.2.6.1: "A driver MUST NOT submit a request which would cause a read or write beyond capacity"
        if (!inCapacity(out.sector, out.dataLen >>> VirtioBlkSpec.SECTOR_SHIFT, cfg)) {
            return ParseStatus.OUT_OF_RANGE;
        }
        // §5.2.6.2: with VIRTIO_BLK_F_RO a write MUST fail with IOERR and write nothing
        if (write && cfg.readOnly()) {
            return ParseStatus.READ_ONLY;
        }
        return ParseStatus.OK;
    }

    private static ParseStatus checkRanges(GuestMemory mem, BlkRequest out, VirtioBlkConfig cfg, boolean readable,
                                           boolean writeZeroes) {
        // §5.2.6: discard/write-zeroes data is device-readable virtio_blk_discard_write_zeroes entries
        if (!readable || out.segCount == 0) {
            return ParseStatus.WRONG_DIRECTION;
        }
        int maxSeg = writeZeroes ? cfg.maxWriteZeroesSeg() : cfg.maxDiscardSeg();
        long maxSectors = (writeZeroes ? cfg.maxWriteZeroesSectors() : cfg.maxDiscardSectors()) & 0xffffffffL;
        for (int s = 0; s < out.segCount; s++) {
            if (out.segLen[s] % VirtioBlkSpec.DWZ_SEGMENT_SIZE != 0) {
                return ParseStatus.BAD_RANGES;
            }
        }
        if (out.dataLen / VirtioBlkSpec.DWZ_SEGMENT_SIZE > Math.min(maxSeg, out.rangeSector.length)) {
            // §5.2.4: at most max_discard_seg / max_write_zeroes_seg ranges per request
            return ParseStatus.TOO_MANY_RANGES;
        }
        if (!readRanges(mem, out)) {
            return ParseStatus.BAD_RANGES;
        }
        int sectorsPerBlock = cfg.blkSize() >> VirtioBlkSpec.SECTOR_SHIFT;
        for (int i = 0; i < out.rangeCount; i++) {
            int flags = out.rangeFlags[i];
            // §5.2.6.2: unknown flags MUST give UNSUPP, and so MUST the unmap flag on a discard
            if ((flags & ~VirtioBlkSpec.DWZ_FLAG_UNMAP) != 0 || (!writeZeroes && flags != 0)) {
                return ParseStatus.BAD_FLAGS;
            }
            long n = out.rangeSectors[i] & 0xffffffffL;
            // §5.2.4: num_sectors is at most max_discard_sectors / max_write_zeroes_sectors
            if (n > maxSectors) {
                return ParseStatus.RANGE_TOO_LARGE;
            }
            if (out.rangeSector[i] % sectorsPerBlock != 0 || n % sectorsPerBlock != 0) {
                return ParseStatus.UNALIGNED;
            }
            // §5.2.6.2: a range beyond capacity fails (QEMU: IOERR)
            if (!inCapacity(out.rangeSector[i], n, cfg)) {
                return ParseStatus.OUT_OF_RANGE;
            }
        }
        return ParseStatus.OK;
    }

    private static boolean readRanges(GuestMemory mem, BlkRequest out) {
        int n = 0;
        for (int s = 0; s < out.segCount; s++) {
            for (int off = 0; off < out.segLen[s]; off += VirtioBlkSpec.DWZ_SEGMENT_SIZE) {
                long e = out.segAddr[s] + off;
                out.rangeSector[n] = mem.getLong(e);
                out.rangeSectors[n] = mem.getInt(e + VirtioBlkSpec.DWZ_NUM_SECTORS);
                out.rangeFlags[n] = mem.getInt(e + VirtioBlkSpec.DWZ_FLAGS);
                n++;
            }
        }
        out.rangeCount = n;
        return n > 0;
    }

    /** True if {@code [sector, sector+count)} lies within the disk; sector is unsigned on the wire. */
    private static boolean inCapacity(long sector, long count, VirtioBlkConfig cfg) {
        long cap = cfg.capacitySectors();
        return sector >= 0 && sector <= cap && count <= cap - sector;
    }
}
