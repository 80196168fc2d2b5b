package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pooled direct buffers copies borrow. */
@Timeout(60)
class BuffersTest {

    @Test
    void aLeaseIsDirectAndExactlyTheSizeAskedFor() {
        for (int size : new int[] {0, 1, 4096, 65536, Buffers.POOL_BUFFER_SIZE, Buffers.POOL_BUFFER_SIZE + 512}) {
            try (Buffers.Lease l = Buffers.lease(size)) {
                ByteBuffer b = l.buffer();
                assertTrue(b.isDirect());
                assertEquals(0, b.position());
                assertEquals(size, b.limit());
                assertEquals(size, b.capacity());
            }
        }
    }

    @Test
    void closedLeasesAreReusedAndConcurrentOnesAreDistinct() {
        Buffers.Lease a = Buffers.lease(4096);
        Buffers.Lease b = Buffers.lease(4096);
        a.buffer().put(0, (byte) 42);
        assertNotSame(a.buffer(), b.buffer());
        b.buffer().put(0, (byte) 1);
        assertEquals(42, a.buffer().get(0)); // two open leases never share memory
        a.close();
        a.close(); // twice is harmless: the buffer goes back once
        b.close();
        int idle = Buffers.pooledIdle();
        assertTrue(idle >= 2, "idle " + idle);
        try (Buffers.Lease c = Buffers.lease(100)) {
            assertEquals(idle - 1, Buffers.pooledIdle());
            assertEquals(100, c.buffer().remaining());
        }
    }

    @Test
    void oversizedLeasesDoNotEnterThePool() {
        int before = Buffers.pooledIdle();
        try (Buffers.Lease l = Buffers.lease(Buffers.POOL_BUFFER_SIZE * 2)) {
            assertEquals(Buffers.POOL_BUFFER_SIZE * 2, l.buffer().remaining());
        }
        assertTrue(Buffers.pooledIdle() <= Math.max(before, 32));
        assertThrows(IllegalArgumentException.class, () -> Buffers.lease(-1));
    }
}
