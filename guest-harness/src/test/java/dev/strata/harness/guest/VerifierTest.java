package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.device.GuestMemory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shadow-map rules on a disk simulated in memory, where the test decides exactly what lands:
 * overlapping in-flight writes, failed writes, reads racing writes, and what a crash may leave.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VerifierTest {

    /** A disk that is just bytes; reads and writes copy between it and guest memory. */
    static final class MemoryDisk implements GuestDisk {
        final GuestMemory mem;
        final byte[] data;

        MemoryDisk(GuestMemory mem, int size) {
            this.mem = mem;
            this.data = new byte[size];
        }

        @Override
        public String driveId() {
            return "mem0";
        }

        @Override
        public long capacity() {
            return data.length;
        }

        @Override
        public int maxInFlight() {
            return 64;
        }

        @Override
        public IoResult read(long offset, GuestBuffer buf) {
            byte[] b = java.util.Arrays.copyOfRange(data, (int) offset, (int) offset + buf.length());
            mem.write(buf.address(), b);
            return IoResult.OK;
        }

        @Override
        public IoResult write(long offset, GuestBuffer buf) {
            byte[] b = new byte[buf.length()];
            mem.read(buf.address(), b);
            System.arraycopy(b, 0, data, (int) offset, b.length);
            return IoResult.OK;
        }

        @Override
        public IoResult flush() {
            return IoResult.OK;
        }

        @Override
        public void close() {
        }
    }

    final GuestMemory mem = GuestMemory.allocate(8 << 20);
    final GuestAllocator alloc = new GuestAllocator(mem, 0);
    final MemoryDisk disk = new MemoryDisk(mem, 2 << 20);
    final Verifier v = new Verifier("mem0", mem, disk.capacity());
    final GuestBuffer big = alloc.allocate(1 << 20, 4096);
    final GuestBuffer a = alloc.allocate(512, 512);
    final GuestBuffer b = alloc.allocate(512, 512);
    final GuestBuffer r = alloc.allocate(512, 512);
    final int reader;

    VerifierTest() {
        System.out.println("(VerifierTest: VERIFY FAILURE lines in this test are expected; it checks they are raised)");
        disk.data[100] = 9; // some original content
        v.prepare(disk, 0, 1 << 20, big);
        reader = v.registerReader();
    }

    private int readCheck(long since) {
        disk.read(0, r);
        return v.checkRead(reader, since, 0, r);
    }

    @Test
    void overlappingWritesInFlightMayLandInEitherOrder() {
        long sa = v.beginWrite(0, a);
        long sb = v.beginWrite(0, b);
        disk.write(0, b);                        // b lands first, then a: the device may reorder
        disk.write(0, a);
        v.endWrite(0, 512, sb, true);
        v.endWrite(0, 512, sa, true);
        assertEquals(0, readCheck(v.beginRead(reader)), "a is acceptable: it was concurrent with b");
        disk.write(0, b);
        assertEquals(0, readCheck(v.beginRead(reader)), "so is b");
        assertEquals(0, v.verify(disk, big, false).failureCount());
    }

    @Test
    void aWriteSubmittedAfterAnAckReplacesIt() {
        long sa = v.beginWrite(0, a);
        disk.write(0, a);
        v.endWrite(0, 512, sa, true);
        long sb = v.beginWrite(0, b);
        long since = v.beginRead(reader);
        assertEquals(0, readCheck(since), "before b lands, a is what the disk holds");
        disk.write(0, b);
        v.endWrite(0, 512, sb, true);
        assertEquals(0, readCheck(since), "a read that began before b's ack may see b");
        disk.write(0, a);                        // a comes back: stale
        assertEquals(0, v.checkRead(reader, since, 0, r), "...unless the read began before b's ack");
        assertEquals(1, readCheck(v.beginRead(reader)));
        assertEquals(VerifyFailure.Kind.STALE, v.report(0).failures().get(0).kind());
    }

    @Test
    void aFailedWriteLeavesOldAndNewAcceptable() {
        long sa = v.beginWrite(0, a);
        disk.write(0, a);
        v.endWrite(0, 512, sa, true);
        long sb = v.beginWrite(0, b);
        v.endWrite(0, 512, sb, false);           // failed: b did not land...
        assertEquals(0, readCheck(v.beginRead(reader)));
        disk.write(0, b);                        // ...or it did
        assertEquals(0, readCheck(v.beginRead(reader)));
        assertEquals(0, v.verify(disk, big, false).failureCount());
    }

    @Test
    void unwrittenSectorsMustKeepTheirOriginalContent() {
        assertEquals(0, v.verify(disk, big, false).failureCount());
        disk.data[100] = 10;
        VerifyReport rep = v.verify(disk, big, false);
        assertEquals(1, rep.failureCount());
        assertEquals(0, rep.failures().get(0).lba());
        assertEquals(VerifyFailure.Kind.CORRUPT, rep.failures().get(0).kind());
    }

    @Test
    void afterACrashOnlyDurableWritesMustSurvive() {
        v.keepCrashHistory(true);
        long sa = v.beginWrite(0, a);
        disk.write(0, a);
        v.endWrite(0, 512, sa, true);
        Verifier.Flush f = v.beginFlush();
        v.endFlush(f, true);
        assertEquals(1, v.durableWrites());
        long sb = v.beginWrite(0, b);
        disk.write(0, b);
        v.endWrite(0, 512, sb, true);            // acknowledged, never flushed
        assertEquals(2, v.acknowledgedWrites());
        disk.write(0, a);                        // "crash": b's data lost, a (durable) is there
        assertEquals(0, v.verify(disk, big, true).failureCount(), "losing an unflushed write is allowed");
        assertTrue(v.verify(disk, big, false).failureCount() > 0, "but not without a crash");
        System.arraycopy(new byte[512], 0, disk.data, 0, 512); // the durable write lost too: original content
        disk.data[100] = 9;
        assertTrue(v.verify(disk, big, true).failures().stream().anyMatch(x -> x.kind() == VerifyFailure.Kind.LOST));
    }

    @Test
    void crashChecksNeedTheHistoryKeptFromTheStart() {
        assertThrows(IllegalStateException.class, () -> v.verify(disk, big, true));
    }
}
