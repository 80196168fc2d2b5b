package dev.strata.blockdrv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The generic request path: drain and serialisation under real concurrency. */
@Timeout(30)
class RequestPathTest {

    @Test
    void drainWaitsForRequestsInFlightAndHoldsNewOnes() throws Exception {
        RecordingDriver d = new RecordingDriver(1 << 20, 4096);
        BlockNode node = RecordingDriver.node(d);
        d.gate = new CountDownLatch(1);
        Thread inFlight = Thread.ofVirtual().start(() -> node.write(0, ByteBuffer.allocate(512)));
        waitUntil(() -> d.active.get() == 1);

        AtomicBoolean drained = new AtomicBoolean();
        CountDownLatch release = new CountDownLatch(1);
        Thread drainer = Thread.ofVirtual().start(() -> {
            try (BlockNode.Drained section = node.drain()) {
                drained.set(true);
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread.sleep(100);
        assertFalse(drained.get(), "drain must wait for the request in flight");
        d.gate.countDown();
        inFlight.join();
        waitUntil(drained::get);

        AtomicBoolean lateDone = new AtomicBoolean();
        Thread late = Thread.ofVirtual().start(() -> {
            node.read(0, ByteBuffer.allocate(512));
            lateDone.set(true);
        });
        Thread.sleep(100);
        assertFalse(lateDone.get(), "a new request must wait while the node is drained");
        release.countDown();
        late.join();
        drainer.join();
        assertTrue(lateDone.get());
    }

    @Test
    void theDrainingThreadMayStillDoIoInsideItsSection() {
        RecordingDriver d = new RecordingDriver(1 << 20, 4096);
        BlockNode node = RecordingDriver.node(d);
        try (BlockNode.Drained section = node.drain()) {
            node.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            node.flush();
            ByteBuffer r = ByteBuffer.allocate(3);
            node.read(0, r);
            assertEquals(2, r.get(1));
        }
    }

    @Test
    void drainListenersHearBeginAndEnd() {
        BlockNode node = RecordingDriver.node(new RecordingDriver(4096, 512));
        List<String> heard = new ArrayList<>();
        node.addDrainListener(new BlockNode.DrainListener() {
            @Override
            public void drainBegin(BlockNode n) {
                heard.add("begin");
            }

            @Override
            public void drainEnd(BlockNode n) {
                heard.add("end");
            }
        });
        try (BlockNode.Drained s = node.drain()) {
            heard.add("inside");
        }
        assertEquals(List.of("begin", "inside", "end"), heard);
    }

    @Test
    void writesToOneClusterNeverRunTogetherButDistinctClustersDo() throws Exception {
        RecordingDriver d = new RecordingDriver(1 << 20, 65536);
        BlockNode node = RecordingDriver.node(d);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int n = i;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int k = 0; k < 50; k++) {
                    // half the writers share cluster 0, the rest spread out
                    long off = (n % 2 == 0) ? (n * 512L) % 65536 : 65536L * (1 + n % 15) + 512L * k;
                    node.write(off, ByteBuffer.allocate(512));
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, d.clusterOverlap.get(), "two writes touched one cluster at the same time");
    }

    @Test
    void copyOnReadIsSerialisedAgainstWrites() throws Exception {
        RecordingDriver d = new RecordingDriver(1 << 20, 65536);
        BlockNode node = RecordingDriver.node(d);
        d.gate = new CountDownLatch(1);
        Thread cor = Thread.ofVirtual().start(() -> node.copyOnRead(0, 65536));
        waitUntil(() -> d.active.get() == 1);
        AtomicBoolean readDone = new AtomicBoolean();
        Thread reader = Thread.ofVirtual().start(() -> {
            node.read(1000, ByteBuffer.allocate(10));
            readDone.set(true);
        });
        Thread.sleep(100);
        assertFalse(readDone.get(), "a read overlapping a copy-on-read must wait for it");
        d.gate.countDown();
        cor.join();
        reader.join();
        assertTrue(readDone.get());
    }

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aSerialisingRequestIsNotStarvedByAStreamOfOverlappingWrites() throws Exception {
        RecordingDriver d = new RecordingDriver(1 << 20, 512);
        d.writeDelayMillis = 3;
        BlockNode node = RecordingDriver.node(d);
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int n = i;
            writers.add(Thread.ofVirtual().start(() -> {
                // each writer keeps a write to the first cluster in flight nearly all the time
                while (!stop.get()) {
                    node.write(512L * n, ByteBuffer.allocate(512));
                }
            }));
        }
        Thread.sleep(50);
        long t0 = System.nanoTime();
        node.copyOnRead(0, 65536);
        long waitedMs = (System.nanoTime() - t0) / 1_000_000;
        stop.set(true);
        for (Thread t : writers) {
            t.join();
        }
        assertTrue(waitedMs < 3_000, "copy-on-read waited " + waitedMs + " ms behind later writes");
    }

    @Test
    void aReadWaitsForAnOverlappingWriteInFlight() throws Exception {
        RecordingDriver d = new RecordingDriver(1 << 20, 512);
        BlockNode node = RecordingDriver.node(d);
        d.gate = new CountDownLatch(1);
        Thread writer = Thread.ofVirtual().start(() -> node.write(0, ByteBuffer.allocate(4096)));
        waitUntil(() -> d.active.get() == 1);
        AtomicBoolean readDone = new AtomicBoolean();
        Thread reader = Thread.ofVirtual().start(() -> {
            node.read(1024, ByteBuffer.allocate(512));
            readDone.set(true);
        });
        Thread other = Thread.ofVirtual().start(() -> node.read(8192, ByteBuffer.allocate(512)));
        waitUntil(() -> d.active.get() == 2); // elsewhere on the disk a read reaches the driver at once
        Thread.sleep(100);
        assertEquals(2, d.active.get(), "only the writer and the unrelated read may be in the driver");
        assertFalse(readDone.get(), "a read of a sector being written must wait: it could see half of each");
        d.gate.countDown();
        writer.join();
        reader.join();
        other.join();
        assertTrue(readDone.get());
    }

    @Test
    void readsDoNotWaitForEachOther() throws Exception {
        RecordingDriver d = new RecordingDriver(1 << 20, 65536);
        BlockNode node = RecordingDriver.node(d);
        d.gate = new CountDownLatch(1);
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            readers.add(Thread.ofVirtual().start(() -> node.read(0, ByteBuffer.allocate(4096))));
        }
        waitUntil(() -> d.active.get() == 8);
        d.gate.countDown();
        for (Thread t : readers) {
            t.join();
        }
        assertEquals(8, d.maxActive.get());
    }

    static void waitUntil(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not reached in time");
            }
            Thread.sleep(5);
        }
    }
}
