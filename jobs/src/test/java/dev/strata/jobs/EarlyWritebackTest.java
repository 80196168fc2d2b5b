package dev.strata.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.timeout;
import static org.mockito.Mockito.atLeast;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EarlyWritebackTest {

    /** A format node over a host-file node: the sync must reach the file, not the format layer. */
    private final BlockNode file = mock(BlockNode.class);
    private final BlockNode image = mock(BlockNode.class);
    /** A thread per sync, as the pipeline's pool gives one. */
    private static final java.util.concurrent.Executor SYNCER = r -> Thread.ofPlatform().daemon().start(r);

    EarlyWritebackTest() {
        when(image.file()).thenReturn(file);
    }

    @Test
    void syncsTheHostFileOncePerInterval() {
        EarlyWriteback wb = new EarlyWriteback(image, 1000, SYNCER);
        wb.written(600);
        verify(file, never()).flush();
        wb.written(600);
        verify(file, timeout(5000)).flush();
        verify(image, never()).flush();
    }

    @Test
    void aSecondSyncWaitsForTheFirstAndCopiesNeverWait() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch firstStarted = new CountDownLatch(1);
        AtomicInteger syncs = new AtomicInteger();
        doAnswer(inv -> {
            syncs.incrementAndGet();
            firstStarted.countDown();
            release.await(5, TimeUnit.SECONDS);
            return null;
        }).when(file).flush();
        EarlyWriteback wb = new EarlyWriteback(image, 100, SYNCER);
        wb.written(100);
        // the sync thread is inside flush (a verify could see the call before the answer ran)
        assertTrue(firstStarted.await(5, TimeUnit.SECONDS), "the first sync never started");
        long t0 = System.nanoTime();
        for (int i = 0; i < 50; i++) {
            wb.written(100);   // a sync is running: no second one, and the caller is not held
        }
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1), "written() waited for the sync");
        assertEquals(1, syncs.get());
        release.countDown();
        // the first sync is over: the next interval starts another
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (syncs.get() < 2 && System.nanoTime() < deadline) {
            wb.written(100);
            Thread.sleep(5);
        }
        assertEquals(2, syncs.get());
    }

    @Test
    void aFailedSyncIsLeftToTheJobsFinalFlush() {
        doThrow(new BlockException(BlockException.Kind.IO, "Input/output error")).doNothing().when(file).flush();
        EarlyWriteback wb = new EarlyWriteback(image, 10, SYNCER);
        wb.written(10);
        verify(file, timeout(5000)).flush();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline && org.mockito.Mockito.mockingDetails(file).getInvocations().stream()
                .filter(i -> i.getMethod().getName().equals("flush")).count() < 2) {
            wb.written(10);   // no exception reaches the copy thread, and syncing goes on
        }
        verify(file, atLeast(2)).flush();
    }

    @Test
    void intervalZeroTurnsItOff() throws Exception {
        EarlyWriteback wb = new EarlyWriteback(image, 0, SYNCER);
        wb.written(1L << 40);
        Thread.sleep(50);
        verify(file, never()).flush();
    }
}
