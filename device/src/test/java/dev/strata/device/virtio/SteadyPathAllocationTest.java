package dev.strata.device.virtio;

import static dev.strata.device.virtio.Chains.chain;
import static dev.strata.device.virtio.Chains.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import dev.strata.device.ring.AvailRing;
import dev.strata.device.ring.GuestInterrupt;
import dev.strata.device.ring.RingThreads;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The ring threads allocate nothing per request once warm: the iothread (parse + dispatch) and
 * the interrupt thread (used ring) are platform threads whose allocation the JVM counts exactly.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SteadyPathAllocationTest {

    @Test
    void ringThreadsShouldNotAllocatePerRequest() throws Exception {
        java.lang.management.ThreadMXBean plain = ManagementFactory.getThreadMXBean();
        assumeTrue(plain instanceof com.sun.management.ThreadMXBean, "needs the JDK's ThreadMXBean extension");
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) plain;
        BlockGraph graph = new BlockGraph();
        VmRunState vm = new VmRunState(RunState.RUNNING);
        GuestMemory m = GuestMemory.allocate(1 << 20);
        Peripherals devices = new Peripherals(vm, m);
        try {
            BlockBackend b = graph.createBackend("virtio0", graph.open(BlockOptions.parse("driver=null-co,size=64M", null)),
                    BlockBackend.CacheMode.WRITEBACK);
            VirtioBlkDevice dev = devices.createVirtioBlk(DeviceOptions.of(b).withQueueSize(64)
                    .withRingThreads(RingThreads.PLATFORM)); // the JDK counts platform threads only
            AtomicLong completed = new AtomicLong();
            AtomicIntegerArray busy = new AtomicIntegerArray(8);
            Thread me = Thread.currentThread();
            AvailRing ring = dev.activate(0, new GuestInterrupt() {
                @Override
                public void used(int id, int len) {
                    busy.set(id / 3, 0);
                    completed.incrementAndGet();
                }

                @Override
                public void interrupt() {
                    LockSupport.unpark(me);
                }
            });
            for (int h = 0; h < 8; h++) {
                header(m, 8192 + h * 32L, VirtioBlkSpec.T_IN, h * 8L);
                chain(m, 0, h * 3, 8192 + h * 32L, 65536 + h * 4096L, 4096, true, 16384 + h);
            }
            run(ring, busy, completed, 20_000);            // warm up: JIT, worker threads created
            long io = threadId("iothread-virtio0");
            long irq = threadId("irq-virtio0");
            long ioBefore = mx.getThreadAllocatedBytes(io);
            long irqBefore = mx.getThreadAllocatedBytes(irq);
            int n = 50_000;
            run(ring, busy, completed, n);
            double ioPer = (mx.getThreadAllocatedBytes(io) - ioBefore) / (double) n;
            double irqPer = (mx.getThreadAllocatedBytes(irq) - irqBefore) / (double) n;
            System.out.printf("per request: iothread %.2f bytes, interrupt thread %.2f bytes%n", ioPer, irqPer);
            double wake = jdkVirtualThreadWakeupBytes(mx);
            System.out.printf("the JDK's own cost of waking a virtual thread from a platform thread: %.2f bytes%n", wake);
            assertTrue(irqPer < 1.0, "interrupt thread allocates " + irqPer + " bytes per request");
            // the iothread wakes one worker per request; that wake-up is all it may allocate
            assertTrue(ioPer < wake + 1.0, "iothread allocates " + ioPer + " bytes per request beyond the wake-up");
            assertEquals(0, dev.malformedRequests());
        } finally {
            vm.shutdown();
            devices.close();
            graph.closeAll();
        }
    }

    /** Keeps up to 8 requests in flight (a head is republished only once completed) until {@code n} more completed. */
    private static void run(AvailRing ring, AtomicIntegerArray busy, AtomicLong completed, int n) {
        long target = completed.get() + n;
        long published = completed.get();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        while (completed.get() < target) {
            for (int h = 0; h < 8 && published < target; h++) {
                if (busy.get(h) == 0) {
                    busy.set(h, 1);
                    ring.publish(h * 3);
                    published++;
                }
            }
            LockSupport.parkNanos(20_000);
            if (System.nanoTime() > deadline) {
                throw new AssertionError("requests stopped completing: " + completed.get() + " of " + target);
            }
        }
    }

    /**
     * Bytes a platform thread allocates to unpark a parked virtual thread (the JDK wraps the
     * continuation in a ForkJoinTask to schedule it): the floor for any thread that wakes workers.
     */
    private static double jdkVirtualThreadWakeupBytes(com.sun.management.ThreadMXBean mx) throws InterruptedException {
        AtomicLong wakes = new AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread vt = Thread.ofVirtual().start(() -> {
            while (!stop.get()) {
                LockSupport.park();
                wakes.incrementAndGet();
            }
        });
        int n = 20_000;
        long me = Thread.currentThread().threadId();
        long before = 0;
        for (int i = 0; i < 2 * n; i++) {
            if (i == n) {
                before = mx.getThreadAllocatedBytes(me);
            }
            long w = wakes.get();
            while (vt.getState() != Thread.State.WAITING) {
                Thread.onSpinWait();
            }
            LockSupport.unpark(vt);
            while (wakes.get() == w) {
                Thread.onSpinWait();
            }
        }
        double per = (mx.getThreadAllocatedBytes(me) - before) / (double) n;
        stop.set(true);
        LockSupport.unpark(vt);
        vt.join();
        return per;
    }

    private static long threadId(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no thread " + name)).threadId();
    }
}
