package dev.strata.device.virtio;

import static dev.strata.device.virtio.Chains.N;
import static dev.strata.device.virtio.Chains.R;
import static dev.strata.device.virtio.Chains.W;
import static dev.strata.device.virtio.Chains.chain;
import static dev.strata.device.virtio.Chains.desc;
import static dev.strata.device.virtio.Chains.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.device.GuestMemory;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlkRequestParserTest {

    static final long MEM = 1 << 20;
    static final int QS = 16;
    static final long TABLE = 0;
    static final long HDR = 4096;
    static final long DATA = 8192;
    static final long STATUS = 65536;
    static final long CAP_SECTORS = 2048;

    final GuestMemory m = GuestMemory.allocate(MEM);
    final VirtioBlkConfig cfg = VirtioBlkConfig.defaults(CAP_SECTORS * 512, QS, true, false);
    final BlkRequest out = new BlkRequest(cfg.segMax(), 4);

    ParseStatus parse(int head) {
        return BlkRequestParser.parse(m, TABLE, QS, head, cfg, out);
    }

    ParseStatus parse(int head, VirtioBlkConfig c) {
        return BlkRequestParser.parse(m, TABLE, QS, head, c, out);
    }

    @Test
    void shouldParseReadWithItsSegmentAndStatus() {
        header(m, HDR, VirtioBlkSpec.T_IN, 8);
        chain(m, TABLE, 3, HDR, DATA, 4096, true, STATUS);
        assertEquals(ParseStatus.OK, parse(3));
        assertEquals(VirtioBlkSpec.T_IN, out.type());
        assertEquals(8, out.sector());
        assertEquals(1, out.segmentCount());
        assertEquals(DATA, out.segmentAddress(0));
        assertEquals(4096, out.dataLength());
        assertEquals(STATUS, out.statusAddress());
        assertEquals(3, out.head());
    }

    @Test
    void shouldParseMultiSegmentWriteFlushAndGetId() {
        header(m, HDR, VirtioBlkSpec.T_OUT, 0);
        desc(m, TABLE, 0, HDR, 16, N, 5);
        desc(m, TABLE, 5, DATA, 512, N, 9);
        desc(m, TABLE, 9, DATA + 4096, 1024, N, 2);
        desc(m, TABLE, 2, STATUS, 1, W, 0);
        assertEquals(ParseStatus.OK, parse(0));
        assertEquals(2, out.segmentCount());
        assertEquals(1536, out.dataLength());

        header(m, HDR, VirtioBlkSpec.T_FLUSH, 0);
        chain(m, TABLE, 0, HDR, 0, -1, false, STATUS);
        assertEquals(ParseStatus.OK, parse(0));
        assertEquals(0, out.segmentCount());

        header(m, HDR, VirtioBlkSpec.T_GET_ID, 0);
        chain(m, TABLE, 0, HDR, DATA, 20, true, STATUS);
        assertEquals(ParseStatus.OK, parse(0));
    }

    @Test
    void shouldRefuseBrokenChainStructureWithoutAStatus() {
        assertEquals(ParseStatus.BAD_HEAD, parse(QS));
        assertEquals(ParseStatus.BAD_HEAD, parse(-1));
        assertEquals(ParseStatus.BAD_QUEUE, BlkRequestParser.parse(m, MEM - 16, QS, 0, cfg, out));
        assertEquals(ParseStatus.BAD_QUEUE, BlkRequestParser.parse(m, Long.MAX_VALUE - 8, QS, 0, cfg, out));

        header(m, HDR, VirtioBlkSpec.T_IN, 0);
        desc(m, TABLE, 0, HDR, 16, N, QS + 3);                      // next outside the table
        assertEquals(ParseStatus.BAD_NEXT, parse(0));

        desc(m, TABLE, 0, HDR, 16, N, 1);                           // 0 -> 1 -> 0 -> ...
        desc(m, TABLE, 1, DATA, 512, N | W, 0);
        assertEquals(ParseStatus.LOOP, parse(0));

        desc(m, TABLE, 0, HDR, 16, N | VirtioSpec.VIRTQ_DESC_F_INDIRECT, 1);
        assertEquals(ParseStatus.INDIRECT, parse(0));

        desc(m, TABLE, 0, HDR, 16, R, 0);                           // header only
        assertEquals(ParseStatus.NO_STATUS, parse(0));

        chain(m, TABLE, 0, HDR, DATA, 512, true, STATUS);
        desc(m, TABLE, 2, STATUS, 1, R, 0);                         // status not device-writable
        assertEquals(ParseStatus.NO_STATUS, parse(0));
        desc(m, TABLE, 2, MEM, 1, W, 0);                            // status just past memory
        assertEquals(ParseStatus.NO_STATUS, parse(0));
        desc(m, TABLE, 2, STATUS, 0, W, 0);                         // zero-length status
        assertEquals(ParseStatus.NO_STATUS, parse(0));
        assertEquals(-1, out.statusAddress());
    }

    @Test
    void shouldRefuseBadBuffersWithIoerrAndKeepTheStatusAddress() {
        header(m, HDR, VirtioBlkSpec.T_IN, 0);
        chain(m, TABLE, 0, HDR, Long.MAX_VALUE - 100, 4096, true, STATUS); // addr + len overflows
        assertEquals(ParseStatus.BAD_BUFFER, parse(0));
        assertEquals(STATUS, out.statusAddress());
        assertEquals(VirtioBlkSpec.S_IOERR, ParseStatus.BAD_BUFFER.status());

        chain(m, TABLE, 0, HDR, MEM - 512, 0xFFFFFFFFL, true, STATUS);     // huge length
        assertEquals(ParseStatus.BAD_BUFFER, parse(0));
        chain(m, TABLE, 0, -4096, DATA, 512, true, STATUS);                 // header below 0
        assertEquals(ParseStatus.BAD_BUFFER, parse(0));
    }

    @Test
    void shouldCheckDirectionsAndOrder() {
        header(m, HDR, VirtioBlkSpec.T_IN, 0);
        chain(m, TABLE, 0, HDR, DATA, 512, false, STATUS);          // read into device-readable data
        assertEquals(ParseStatus.WRONG_DIRECTION, parse(0));
        header(m, HDR, VirtioBlkSpec.T_OUT, 0);
        chain(m, TABLE, 0, HDR, DATA, 512, true, STATUS);           // write from device-writable data
        assertEquals(ParseStatus.WRONG_DIRECTION, parse(0));

        desc(m, TABLE, 0, HDR, 16, N, 1);                           // readable after writable
        desc(m, TABLE, 1, DATA, 512, N | W, 2);
        desc(m, TABLE, 2, DATA + 512, 512, N | R, 3);
        desc(m, TABLE, 3, STATUS, 1, W, 0);
        assertEquals(ParseStatus.ORDER, parse(0));

        desc(m, TABLE, 0, HDR, 8, N, 1);                            // short header
        desc(m, TABLE, 1, STATUS, 1, W, 0);
        assertEquals(ParseStatus.BAD_HEADER, parse(0));
        desc(m, TABLE, 0, HDR, 16, N | W, 1);                       // writable header
        assertEquals(ParseStatus.BAD_HEADER, parse(0));

        header(m, HDR, VirtioBlkSpec.T_FLUSH, 0);
        desc(m, TABLE, 0, HDR, 16, N, 1);
        desc(m, TABLE, 1, STATUS, 4, W, 0);                         // status shares with data
        assertEquals(ParseStatus.STATUS_NOT_ALONE, parse(0));
        assertEquals(STATUS + 3, out.statusAddress());
    }

    @Test
    void shouldCheckLengthsRangesAndTypes() {
        header(m, HDR, VirtioBlkSpec.T_IN, 0);
        chain(m, TABLE, 0, HDR, DATA, 100, true, STATUS);
        assertEquals(ParseStatus.UNALIGNED, parse(0));

        header(m, HDR, VirtioBlkSpec.T_IN, CAP_SECTORS - 1);
        chain(m, TABLE, 0, HDR, DATA, 1024, true, STATUS);           // one sector past the end
        assertEquals(ParseStatus.OUT_OF_RANGE, parse(0));
        header(m, HDR, VirtioBlkSpec.T_IN, CAP_SECTORS - 2);
        assertEquals(ParseStatus.OK, parse(0));                      // exactly to the end
        header(m, HDR, VirtioBlkSpec.T_IN, -1L);                     // 2^64-1 unsigned
        assertEquals(ParseStatus.OUT_OF_RANGE, parse(0));
        header(m, HDR, VirtioBlkSpec.T_IN, Long.MAX_VALUE - 1);      // sector + count overflows
        assertEquals(ParseStatus.OUT_OF_RANGE, parse(0));

        header(m, HDR, VirtioBlkSpec.T_OUT, 0);
        chain(m, TABLE, 0, HDR, DATA, 512, false, STATUS);
        VirtioBlkConfig ro = VirtioBlkConfig.defaults(CAP_SECTORS * 512, QS, true, true);
        assertEquals(ParseStatus.READ_ONLY, parse(0, ro));
        assertEquals(ParseStatus.OK, parse(0));

        header(m, HDR, VirtioBlkSpec.T_FLUSH, 0);
        chain(m, TABLE, 0, HDR, DATA, 512, false, STATUS);
        assertEquals(ParseStatus.UNEXPECTED_DATA, parse(0));

        header(m, HDR, 99, 0);
        assertEquals(ParseStatus.UNSUPPORTED_TYPE, parse(0));
        assertEquals(VirtioBlkSpec.S_UNSUPP, ParseStatus.UNSUPPORTED_TYPE.status());

        header(m, HDR, VirtioBlkSpec.T_GET_ID, 0);
        chain(m, TABLE, 0, HDR, 0, -1, false, STATUS);
        assertEquals(ParseStatus.NO_ID_BUFFER, parse(0));
    }

    @Test
    void shouldLimitSegmentsAndTotalLength() {
        VirtioBlkConfig small = new VirtioBlkConfig(1L << 40, 2, 512, 1, true, 8, 1, 8, 1, true, false);
        header(m, HDR, VirtioBlkSpec.T_IN, 0);
        desc(m, TABLE, 0, HDR, 16, N, 1);
        for (int i = 1; i <= 3; i++) {
            desc(m, TABLE, i, DATA + 512L * i, 512, N | W, i + 1);
        }
        desc(m, TABLE, 4, STATUS, 1, W, 0);
        assertEquals(ParseStatus.TOO_MANY_SEGMENTS, parse(0, small));

        // 5 descriptors of 1 GiB each (all the same memory): more than 2^32 bytes in one chain
        GuestMemory big = GuestMemory.allocate(1L << 30);
        VirtioBlkConfig wide = new VirtioBlkConfig(1L << 40, 14, 512, 1, true, 8, 1, 8, 1, true, false);
        desc(big, 0, 0, 4096, 16, N, 1);
        for (int i = 1; i <= 5; i++) {
            desc(big, 0, i, 0, 1L << 30, N | W, i + 1);
        }
        desc(big, 0, 6, 8192, 1, W, 0);
        header(big, 4096, VirtioBlkSpec.T_IN, 0);
        assertEquals(ParseStatus.TOO_LONG, BlkRequestParser.parse(big, 0, QS, 0, wide, out));
    }

    @Test
    void shouldCheckDiscardAndWriteZeroesRanges() {
        long range = DATA;
        header(m, HDR, VirtioBlkSpec.T_WRITE_ZEROES, 0);
        chain(m, TABLE, 0, HDR, range, 16, false, STATUS);
        putRange(range, 16, 8, VirtioBlkSpec.DWZ_FLAG_UNMAP);
        assertEquals(ParseStatus.OK, parse(0));
        assertEquals(1, out.rangeCount());
        assertEquals(16, out.rangeSector(0));
        assertEquals(8, out.rangeSectors(0));

        putRange(range, 16, 8, 2);                                  // unknown flag
        assertEquals(ParseStatus.BAD_FLAGS, parse(0));
        header(m, HDR, VirtioBlkSpec.T_DISCARD, 0);
        putRange(range, 16, 8, VirtioBlkSpec.DWZ_FLAG_UNMAP);       // unmap on discard: UNSUPP per spec
        assertEquals(ParseStatus.BAD_FLAGS, parse(0));
        assertEquals(VirtioBlkSpec.S_UNSUPP, ParseStatus.BAD_FLAGS.status());
        putRange(range, CAP_SECTORS - 4, 8, 0);
        assertEquals(ParseStatus.OUT_OF_RANGE, parse(0));
        putRange(range, 0, -1, 0);                                  // 2^32-1 sectors
        assertEquals(ParseStatus.RANGE_TOO_LARGE, parse(0));

        chain(m, TABLE, 0, HDR, range, 17, false, STATUS);          // not whole entries
        assertEquals(ParseStatus.BAD_RANGES, parse(0));
        chain(m, TABLE, 0, HDR, range, 32, false, STATUS);          // two ranges, max_discard_seg 1
        assertEquals(ParseStatus.TOO_MANY_RANGES, parse(0));
        chain(m, TABLE, 0, HDR, range, 16, true, STATUS);           // ranges must be device-readable
        assertEquals(ParseStatus.WRONG_DIRECTION, parse(0));
    }

    private void putRange(long at, long sector, int sectors, int flags) {
        m.putLong(at, sector);
        m.putInt(at + 8, sectors);
        m.putInt(at + 12, flags);
    }

    @Test
    void shouldNeverThrowOnRandomDescriptorTables() {
        SplittableRandom rnd = new SplittableRandom(42);
        long[] interesting = {0, 16, 512, 4096, MEM - 1, MEM, MEM + 1, -1, Long.MAX_VALUE, Long.MIN_VALUE};
        int ok = 0;
        for (int round = 0; round < 20_000; round++) {
            for (int i = 0; i < QS; i++) {
                long addr = rnd.nextInt(4) == 0 ? interesting[rnd.nextInt(interesting.length)] : rnd.nextLong(MEM);
                long len = rnd.nextInt(3) == 0 ? rnd.nextLong(1L << 32) : 512L * rnd.nextInt(9) + (rnd.nextInt(8) == 0 ? 1 : 0);
                int flags = rnd.nextInt(8);
                int next = rnd.nextInt(5) == 0 ? rnd.nextInt(1 << 16) : rnd.nextInt(QS);
                desc(m, TABLE, i, addr, len, flags, next);
            }
            header(m, HDR, rnd.nextInt(16), rnd.nextInt(5) == 0 ? rnd.nextLong() : rnd.nextLong(CAP_SECTORS));
            ParseStatus ps = parse(rnd.nextInt(QS + 2) - 1);
            if (ps.ok()) {
                ok++;
                // what the parser accepted really is inside guest memory and the disk
                for (int s = 0; s < out.segmentCount(); s++) {
                    assertTrue(m.contains(out.segmentAddress(s), out.segmentLength(s) & 0xffffffffL));
                }
                assertTrue(m.contains(out.statusAddress(), 1));
            } else if (ps.status() >= 0) {
                assertTrue(m.contains(out.statusAddress(), 1), ps + " must come with a writable status byte");
            }
        }
        assertTrue(ok >= 0);
    }
}
